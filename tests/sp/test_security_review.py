"""Findings of the security and privacy review of the LARS portal, against the running portal."""

from __future__ import annotations

import httpx
import pytest

from leerid.sp.provider import ServiceProvider
from leerid.sp.staff import add_staff, disable_staff
from tests.idp_server import _free_port
from tests.sp.lars_world import hidden, serve_portal

PASSWORD = "een-lang-wachtwoord"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_disabled_staff_account_loses_access_at_once(provider: ServiceProvider) -> None:
    """Art. 4: only staff in charge of access control see pupil data — not a former one whose
    sealed session cookie is still valid for hours."""
    add_staff(provider.engine, provider.protocol, "clb.review", PASSWORD, "toegangscontrole")
    with serve_portal(provider, _free_port()) as url, httpx.Client() as http:
        form = http.get(f"{url}/personeel/aanmelden")
        done = http.post(
            f"{url}/personeel/aanmelden",
            data={"csrf": hidden(form.text)["csrf"], "gebruikersnaam": "clb.review"}
            | {"wachtwoord": PASSWORD},
            follow_redirects=False,
        )
        assert done.status_code == 303
        assert http.get(f"{url}/personeel/leerlingen").status_code == 200
        disable_staff(provider.engine, "clb.review")
        after = http.get(f"{url}/personeel/leerlingen", follow_redirects=False)
        assert after.status_code == 303
        assert after.headers["location"] == "/personeel/aanmelden"
