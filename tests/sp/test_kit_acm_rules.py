"""Issue 14 point 3, the kit's rules without a server: the pupil is ov_account_uuid and
never sub; the response mode setting; the pending-login cookie crosses sites under https
while the session cookie stays Lax."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request
from starlette.responses import Response

from leerid.errors import ConfigurationError
from leerid.sp.kit.login_claims import MissingAccountError, read_login
from leerid.sp.kit.settings import load_settings
from leerid.sp.portal.browser_session import SessionSealer
from tests.sp.conftest import write_config

TEXT = st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=40)


@given(sub=TEXT, account=TEXT)
def test_the_account_is_ov_account_uuid_whatever_sub_says(sub: str, account: str) -> None:
    """Art. 3: sub (ACM's PersoonsID, leerid's opaque or account sub) never stands for it."""
    assert read_login({"sub": sub, "ov_account_uuid": account}).account_uuid == account
    assert read_login({"sub": sub, "ov_account_uuid": [account]}).account_uuid == account


def test_a_login_without_ov_account_uuid_says_what_to_ask_for() -> None:
    with pytest.raises(MissingAccountError) as refused:
        read_login({"sub": "2365621db15c6e2846ca71a1f2774e79f028c487", "ov_orgcode": "012345"})
    assert "ov_account_uuid" in refused.value.message
    assert "ov_leerling" in refused.value.message and "[provider] scopes" in refused.value.message


def test_response_mode_is_query_or_form_post(tmp_path: Path) -> None:
    def settings(mode: str) -> str:
        auth = f'auth_method = "client_secret_post"\nresponse_mode = "{mode}"'
        path = write_config(tmp_path / mode, "sqlite://", auth=auth)
        return load_settings(path).response_mode

    assert settings("form_post") == "form_post"
    assert settings("query") == "query"
    assert load_settings(write_config(tmp_path / "d", "sqlite://")).response_mode == "query"
    with pytest.raises(ConfigurationError) as bad:
        settings("fragment")  # a server-side portal never sees a fragment
    assert "[provider]: response_mode 'fragment'" in bad.value.message
    assert '"query" or "form_post"' in bad.value.message


def test_userinfo_sub_is_optional_or_required(tmp_path: Path) -> None:
    def settings(rule: str) -> str:
        auth = f'auth_method = "client_secret_post"\nuserinfo_sub = "{rule}"'
        return load_settings(write_config(tmp_path / rule, "sqlite://", auth=auth)).userinfo_sub

    assert settings("required") == "required"
    assert settings("optional") == "optional"
    assert load_settings(write_config(tmp_path / "d", "sqlite://")).userinfo_sub == "optional"
    with pytest.raises(ConfigurationError) as bad:
        settings("sometimes")
    assert "[provider]: userinfo_sub 'sometimes'" in bad.value.message
    assert '"optional" or "required"' in bad.value.message


def _request(cookies: dict[str, str]) -> Request:
    header = "; ".join(f"{k}={v}" for k, v in cookies.items()).encode()
    return Request({"type": "http", "method": "GET", "headers": [(b"cookie", header)]})


def _set_cookies(response: Response) -> dict[str, str]:
    found = {}
    for name, value in response.raw_headers:
        if name == b"set-cookie":
            text = value.decode()
            found[text.split("=", 1)[0]] = text
    return found


def test_the_pending_login_crosses_sites_under_https_and_the_session_stays_lax() -> None:
    sealer = SessionSealer(secrets.token_bytes(32), secure=True)
    response = Response()
    sealer.write(response, {"pupil": "x"})
    sealer.write_pending(response, {"state": "s", "nonce": "n", "code_verifier": "v"})
    cookies = _set_cookies(response)
    session, pending = cookies["__Host-sp_sessie"], cookies["__Host-sp_aanmelding"]
    assert "SameSite=lax" in session and "Secure" in session
    assert "SameSite=none" in pending and "Secure" in pending and "HttpOnly" in pending
    assert "Max-Age=600" in pending
    value = pending.split("=", 1)[1].split(";")[0]
    assert sealer.read_pending(_request({"__Host-sp_aanmelding": value}))["state"] == "s"
    session_value = session.split("=", 1)[1].split(";")[0]
    # one sealed cookie never stands for the other
    assert sealer.read_pending(_request({"__Host-sp_aanmelding": session_value})) == {}
    assert sealer.read(_request({"__Host-sp_sessie": value})) == {}


def test_over_http_the_pending_login_is_lax() -> None:
    sealer = SessionSealer(secrets.token_bytes(32), secure=False)
    response = Response()
    sealer.write_pending(response, {"state": "s"})
    assert "SameSite=lax" in _set_cookies(response)["sp_aanmelding"]
