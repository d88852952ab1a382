"""Findings of the security and privacy review of the LARS portal, against the running portal."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.relying_party import LoginError, PendingLogin, RelyingParty
from leerid.sp.kit.settings import load_settings
from leerid.sp.kit.staff import disable_staff
from leerid.store.engine import dispose_engines
from leerid.testing.browser import hidden_fields
from leerid.testing.servers import free_port, serve_portal
from tests.sp.conftest import add_bound_staff, write_config
from tests.sp.test_relying_party_spec import CLIENT, ISSUER, Issuer

PASSWORD = "een-lang-wachtwoord"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_disabled_staff_account_loses_access_at_once(provider: ServiceProvider) -> None:
    """Art. 4: only staff in charge of access control see pupil data — not a former one whose
    sealed session cookie is still valid for hours."""
    add_bound_staff(provider, "clb.review", PASSWORD)  # art. 4, 6
    with serve_portal(provider, free_port()) as url, httpx.Client() as http:
        form = http.get(f"{url}/personeel/aanmelden")
        done = http.post(
            f"{url}/personeel/aanmelden",
            data={"csrf": hidden_fields(form.text)["csrf"], "gebruikersnaam": "clb.review"}
            | {"wachtwoord": PASSWORD},
            follow_redirects=False,
        )
        assert done.status_code == 303
        assert http.get(f"{url}/personeel/leerlingen").status_code == 200
        disable_staff(provider.engine, "clb.review")
        after = http.get(f"{url}/personeel/leerlingen", follow_redirects=False)
        assert after.status_code == 303
        assert after.headers["location"] == "/personeel/aanmelden"


def test_a_crafted_error_in_the_login_response_is_not_passed_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The portal logs ``LoginError.code``: a browser-supplied ``error`` with a line break
    (a forged log line) or a name must not become that code."""
    monkeypatch.setenv("LARS_TEST_SECRET", "s3cret")
    config = write_config(
        tmp_path, f"sqlite:///{tmp_path / 'x.db'}", issuer=ISSUER, client_id=CLIENT
    )
    issuer = Issuer()
    party = RelyingParty(
        load_settings(config), http=httpx.AsyncClient(transport=httpx.MockTransport(issuer.handler))
    )
    pending = PendingLogin("s1", "n1", "v" * 43)
    crafted = "access_denied\n2026-01-01 INFO login ok pupil=Jan Janssens"
    with pytest.raises(LoginError) as refused:
        asyncio.run(party.finish({"state": "s1", "iss": ISSUER, "error": crafted}, pending))
    assert refused.value.code == "invalid_error_response"
    assert "Janssens" not in str(refused.value)
    with pytest.raises(LoginError) as plain:
        asyncio.run(party.finish({"state": "s1", "iss": ISSUER, "error": "access_denied"}, pending))
    assert plain.value.code == "access_denied"


def test_database_errors_do_not_carry_pupil_data_into_logs(provider: ServiceProvider) -> None:
    """Art. 6: an error message (logged by the server) hides the statement's values."""
    with pytest.raises(DBAPIError) as failed, provider.engine.connect() as conn:
        conn.execute(text("INSERT INTO no_such_table VALUES (:naam)"), {"naam": "Janssens"})
    assert "Janssens" not in str(failed.value)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_https_portal_sends_hsts(database_url: str, tmp_path: Path) -> None:
    """RFC 6797: a portal served over https tells browsers never to use http."""
    config = write_config(tmp_path / "sp", database_url, public_url="https://lars.example")
    provider = ServiceProvider(load_settings(config))
    try:
        with serve_portal(provider, free_port()) as url:
            home = httpx.get(f"{url}/")
            assert home.headers["strict-transport-security"] == "max-age=31536000"
            assert "frame-ancestors 'none'" in home.headers["content-security-policy"]
    finally:
        provider.engine.dispose()
        dispose_engines()
