"""Issue 8 points 6, 7, 8 and 23 at the LARS portal: bad input gets the message page."""

from __future__ import annotations

import httpx

from leerid.sp.kit.provider import ServiceProvider
from leerid.testing.browser import hidden_fields
from leerid.testing.servers import free_port, serve_portal


def test_bad_input_gets_the_portals_page_and_no_foreign_redirect(
    provider: ServiceProvider,
) -> None:
    with serve_portal(provider, free_port()) as url, httpx.Client() as http:
        form = http.get(f"{url}/personeel/aanmelden")
        csrf = hidden_fields(form.text)["csrf"]
        # point 6: a NUL in the username reaches no database (PostgreSQL answered 500)
        nul = http.post(
            f"{url}/personeel/aanmelden",
            data={"csrf": csrf, "gebruikersnaam": "a\x00b", "wachtwoord": "x"},
        )
        assert nul.status_code == 400 and "Ongeldige invoer" in nul.text
        assert "gebruikersnaam" in nul.text and "a\x00b" not in nul.text
        # point 8: a parameter above its limit
        long = http.get(f"{url}/callback", params={"state": "s" * 2049, "code": "c"})
        assert long.status_code == 400 and "hoogstens 2048 tekens" in long.text
        # point 23: an oversized multipart form gets the page, not FastAPI's JSON 400
        big = http.post(
            f"{url}/personeel/aanmelden",
            files={"csrf": (None, csrf.encode()), "wachtwoord": (None, b"x" * 2_000_000)},
        )
        assert big.status_code == 413 and "text/html" in big.headers["content-type"]
        # point 7: no redirect built from the Host header
        slash = http.get(f"{url}/personeel/", headers={"Host": "evil.example"})
        assert "location" not in slash.headers
        assert slash.status_code == 404


def test_an_unknown_path_or_method_gets_a_page_not_json(provider: ServiceProvider) -> None:
    """A path no route matches (even one that decodes to '/') and a wrong method: HTML."""
    with serve_portal(provider, free_port()) as url, httpx.Client() as http:
        cases = {
            f"{url}/bestaat-niet": ("GET", 404, "Niet gevonden"),
            f"{url}/personeel/datalekken/..%2F..%2Fetc%2Fpasswd": ("POST", 404, "Niet gevonden"),
            f"{url}/personeel/aanmelden": ("PUT", 405, "Niet toegestaan"),
        }
        for target, (method, status, heading) in cases.items():
            answer = http.request(method, target)
            assert answer.status_code == status, target
            assert answer.headers["content-type"].startswith("text/html"), target
            assert heading in answer.text and not answer.text.startswith('{"detail"')
            assert "content-security-policy" in answer.headers
        assert "GET" in http.request("PUT", f"{url}/personeel/aanmelden").headers["allow"]
