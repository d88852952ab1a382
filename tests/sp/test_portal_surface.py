"""The portal's whole surface: no route sends pupil data elsewhere (art. 4), every staff
page needs a staff login, every form needs its CSRF token."""

from __future__ import annotations

import httpx
import pytest
from fastapi.routing import APIRoute

from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.portal.app import create_portal
from leerid.testing.servers import free_port, serve_portal

# Art. 4: the complete list. Only /mijn-gegevens/inzage returns a pupil's data as a file,
# and only the logged-in pupil's own (GDPR art. 15). A new route must be added here on purpose.
ROUTES = {
    ("GET", "/"),
    ("GET", "/aanmelden"),
    ("GET", "/callback"),
    ("POST", "/callback"),  # response_mode=form_post (issue 14): same checks as the GET
    ("GET", "/mijn-gegevens"),
    ("POST", "/mijn-gegevens/inzage"),
    ("POST", "/mijn-gegevens/melding"),  # art. 7: the pupil's own report, to DOV only
    ("POST", "/afmelden"),
    ("GET", "/personeel/aanmelden"),
    ("POST", "/personeel/aanmelden"),
    ("POST", "/personeel/afmelden"),
    ("GET", "/personeel"),
    ("GET", "/personeel/leerlingen"),
    ("POST", "/personeel/leerlingen/open"),
    ("POST", "/personeel/leerlingen/dossier"),
    ("POST", "/personeel/leerlingen/melding"),
    ("GET", "/personeel/privacylog"),
    ("POST", "/personeel/privacylog"),  # art. 4: the filter form, a typed key out of the URL
    ("GET", "/personeel/privacylog.csv"),  # a redirect to the log page and its export button
    ("POST", "/personeel/privacylog.csv"),  # art. 6: the filtered log, pseudonyms (art. 4)
    ("GET", "/personeel/privacylog/grafiek"),  # art. 4, 6: reads per day and function
    ("GET", "/personeel/privacylog/inzage"),  # GDPR art. 15: who looked, for the DPO
    ("POST", "/personeel/privacylog/inzage"),
    ("GET", "/personeel/meldingen"),
    ("POST", "/personeel/meldingen/vernieuwen"),
    ("GET", "/personeel/datalekken"),
    ("POST", "/personeel/datalekken"),
    ("POST", "/personeel/datalekken/{number}"),
    ("GET", "/personeel/bewijs"),
    ("GET", "/personeel/bewijs/risico"),  # art. 6: the risk assessment
    ("POST", "/personeel/bewijs/risico"),
    ("GET", "/personeel/opleiding"),  # the former dates page: a redirect to the next two
    ("GET", "/personeel/medewerkers"),  # art. 4, 6: function, schools, pledge/training dates
    ("POST", "/personeel/medewerkers/{action}"),
    ("GET", "/static/portal.css"),
    ("GET", "/static/copy.js"),
    ("GET", "/healthz"),
}


def test_the_portal_has_no_route_beyond_the_known_ones(provider: ServiceProvider) -> None:
    app = create_portal(provider)
    found = {
        (method, route.path)
        for route in app.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    assert found == ROUTES


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_anonymous_visitors_get_nothing(provider: ServiceProvider) -> None:
    port = free_port()
    with serve_portal(provider, port) as url, httpx.Client(follow_redirects=False) as http:
        for method, path in sorted(ROUTES):
            if not path.startswith("/personeel") or path.endswith(("/aanmelden", "/afmelden")):
                continue
            target = url + path.replace("{number}", "1")
            response = http.request(method, target, data={"csrf": "x"})
            assert response.status_code == 303, (method, path)
            assert response.headers["location"] == "/personeel/aanmelden"
        assert http.get(f"{url}/mijn-gegevens").headers["location"] == "/"
        assert http.post(f"{url}/mijn-gegevens/inzage").status_code == 403
        assert http.post(f"{url}/mijn-gegevens/melding").status_code == 403
        assert http.post(f"{url}/afmelden").status_code == 403  # no CSRF token
        assert http.post(f"{url}/personeel/afmelden").status_code == 403
        forged = http.post(
            f"{url}/personeel/aanmelden", data={"gebruikersnaam": "a", "wachtwoord": "b"}
        )
        assert forged.status_code == 400 and "verlopen" in forged.text
