"""Codes are sealed (issue 15), exchanged within 30 seconds (ACM/IDM; RFC 6749 §4.1.2 "short
lifetime"), and open only as what this provider sealed."""

from __future__ import annotations

import dataclasses
import datetime as dt

import httpx
import pytest
from authlib.integrations.base_client.errors import OAuthError as AuthlibOAuthError
from sqlalchemy import func, select

from leerid.idp.context import SESSION_COOKIE
from leerid.idp.store.grants import CodeGrant
from leerid.idp.store.models import IdpGrant
from leerid.idp.web.authorization_codes import open_code, seal_code
from leerid.idp.web.browser_state import Sealer
from leerid.store.engine import make_engine
from leerid.testing.relying_party import query
from tests.idp.flow import RelyingParty, full_login, token_request
from tests.idp_server import RunningIdp, offline_client, server_sealer


def _grant_rows(idp: RunningIdp) -> int:
    engine = make_engine(idp.database_url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(IdpGrant)) or 0)
    finally:
        engine.dispose()


def _token(idp: RunningIdp, code: str, verifier: str) -> httpx.Response:
    return token_request(
        idp,
        grant_type="authorization_code",
        code=code,
        code_verifier=verifier,
        redirect_uri=idp.redirect_uri,
    )


def _reseal(sealer: Sealer, grant: CodeGrant, now: dt.datetime, lifetime: int) -> str:
    """``grant`` sealed again as DOV itself could, issued at ``now`` for ``lifetime`` s."""
    return seal_code(
        sealer,
        client_id=grant.client_id,
        account_uuid=grant.account_uuid,
        scope=grant.scope,
        nonce=grant.nonce,
        redirect_uri=grant.redirect_uri or "",
        code_challenge=grant.code_challenge,
        sid=grant.sid or "",
        auth_time=grant.auth_time,
        now=now,
        lifetime=lifetime,
    )


def test_a_code_is_stored_nowhere_lives_30_seconds_and_is_refused_after(
    idp: RunningIdp,
) -> None:
    before = _grant_rows(idp)
    rp, _, auth, location = full_login(idp)
    assert _grant_rows(idp) == before  # issuing a code writes no row
    code = query(location)["code"]
    sealer = server_sealer(idp.database_url)
    grant = open_code(sealer, code)
    assert grant is not None and grant.client_id == idp.client_id
    assert grant.account_uuid == idp.pupil.account_uuid
    lifetime = grant.expires_at - grant.issued_at
    assert abs(lifetime - dt.timedelta(seconds=30)) < dt.timedelta(milliseconds=1)
    assert idp.pupil.account_uuid not in code  # the grant is encrypted, not just signed

    # The same grant, issued 31 seconds ago (instead of waiting): expired, whatever else holds.
    late = _reseal(sealer, grant, dt.datetime.now(dt.UTC) - dt.timedelta(seconds=31), 30)
    answer = _token(idp, late, auth.verifier)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"
    assert "expired" in answer.json()["error_description"]
    # The code itself is still good, once.
    assert rp.fetch_token(location, auth.verifier)["access_token"]
    assert _grant_rows(idp) == before + 1  # its redemption wrote the grant row
    with pytest.raises(AuthlibOAuthError) as again:
        rp.fetch_token(location, auth.verifier)
    assert again.value.error == "invalid_grant"


@pytest.mark.parametrize("position", [4, 40, -3])
def test_a_changed_character_makes_a_code_unknown(idp: RunningIdp, position: int) -> None:
    _, _, auth, location = full_login(idp)
    code = query(location)["code"]
    at = position % len(code)
    changed = code[:at] + ("A" if code[at] != "A" else "B") + code[at + 1 :]
    answer = _token(idp, changed, auth.verifier)
    assert answer.status_code == 400
    assert answer.json() == {"error": "invalid_grant", "error_description": "the code is unknown"}
    assert _token(idp, code, auth.verifier).status_code == 200  # the real one still works


def test_values_sealed_for_another_purpose_or_secret_are_not_codes(idp: RunningIdp) -> None:
    _, browser, auth, location = full_login(idp)
    grant = open_code(server_sealer(idp.database_url), query(location)["code"])
    assert grant is not None
    now = dt.datetime.now(dt.UTC)
    foreign = _reseal(Sealer(b"\x01" * 32), grant, now, 30)  # another provider's secret
    cookie = browser.http.cookies[SESSION_COOKIE]  # the SSO cookie: sealed as "sso"
    assert open_code(server_sealer(idp.database_url), cookie) is None
    for value in (foreign, cookie, "v2." + "A" * 200, "not-a-code"):
        answer = _token(idp, value, auth.verifier)
        assert answer.status_code == 400, value
        assert answer.json()["error_description"] == "the code is unknown"


def test_a_code_of_another_client_is_refused_before_any_read(idp: RunningIdp) -> None:
    _, _, auth, location = full_login(idp)
    sealer = server_sealer(idp.database_url)
    grant = open_code(sealer, query(location)["code"])
    assert grant is not None
    other = dataclasses.replace(grant, client_id="another-client")
    code = _reseal(sealer, other, dt.datetime.now(dt.UTC), 30)
    answer = _token(idp, code, auth.verifier)
    assert answer.status_code == 400
    assert answer.json()["error_description"] == "the code was issued to another client"


def test_a_reused_code_revokes_the_refresh_family_it_started(idp: RunningIdp) -> None:
    """RFC 6749 §4.1.2: the code carries no family; its reuse finds it on the grant row."""
    client_id, secret = offline_client(idp.database_url)  # art. 5: the seed allows no refresh
    rp = RelyingParty(
        idp, client_id=client_id, client_secret=secret, scope="openid ov_leerling offline_access"
    )
    rp, _, auth, location = full_login(idp, rp)
    first = rp.fetch_token(location, auth.verifier)
    endpoint = rp.discovery["token_endpoint"]
    second = rp.oauth.refresh_token(endpoint, refresh_token=first["refresh_token"])
    with pytest.raises(AuthlibOAuthError) as reuse:
        rp.fetch_token(location, auth.verifier)
    assert reuse.value.error == "invalid_grant"
    with pytest.raises(AuthlibOAuthError):  # the refresh token rotated since is revoked too
        rp.oauth.refresh_token(endpoint, refresh_token=second["refresh_token"])
    for access in (first["access_token"], second["access_token"]):
        answer = httpx.get(
            rp.discovery["userinfo_endpoint"], headers={"Authorization": f"Bearer {access}"}
        )
        assert answer.status_code == 401
