"""Art. 5 at the provider: no refresh tokens for a client whose protocol wants a login each time.

The seed requests the data "telkens de leerling inlogt": ``offline_access`` is refused with
``invalid_scope`` before any login page (RFC 6749 §4.1.2.1, OIDC Core §11), and a refresh
token such a client still holds is refused with ``invalid_grant``.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import insert, select

from leerid.idp.store.grants import new_token, token_hash
from leerid.idp.store.models import IdpRefreshToken
from leerid.idp.web.authorization_codes import seal_code
from leerid.store.engine import make_engine
from leerid.testing.relying_party import pkce_pair
from tests.idp.flow import Browser, RelyingParty, full_login, query, token_request
from tests.idp_server import RunningIdp, offline_client, server_sealer


def test_offline_access_is_refused_before_login_under_the_seed(idp: RunningIdp) -> None:
    rp = RelyingParty(idp, scope="openid ov_leerling offline_access")
    auth = rp.authorization()
    browser = Browser()
    response = browser.open(auth.url)
    assert response.status_code == 303, response.text  # a redirect, no login page
    location = response.headers["location"]
    assert location.startswith(idp.redirect_uri + "?")
    params = query(location)
    assert params["error"] == "invalid_scope"
    assert "art. 5" in params["error_description"]
    assert params["state"] == auth.state and params["iss"] == idp.issuer
    assert "code" not in params


def test_offline_access_is_granted_under_a_protocol_that_allows_it(idp: RunningIdp) -> None:
    client_id, secret = offline_client(idp.database_url)
    rp = RelyingParty(
        idp, client_id=client_id, client_secret=secret, scope="openid ov_leerling offline_access"
    )
    rp, _, auth, location = full_login(idp, rp)
    token = rp.fetch_token(location, auth.verifier)
    assert token["refresh_token"]
    again = rp.oauth.refresh_token(
        rp.discovery["token_endpoint"], refresh_token=token["refresh_token"]
    )
    assert again["access_token"] and again["refresh_token"] != token["refresh_token"]


def test_seed_client_without_offline_access_gets_no_refresh_token(idp: RunningIdp) -> None:
    rp, _, auth, location = full_login(idp, RelyingParty(idp, scope="openid ov_leerling"))
    assert "refresh_token" not in rp.fetch_token(location, auth.verifier)


def test_a_refresh_token_held_under_the_seed_is_refused(idp: RunningIdp) -> None:
    """A refresh token issued before art. 5 was in the model (or under another version)."""
    presented = new_token()
    now = dt.datetime.now(dt.UTC)
    engine = make_engine(idp.database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(IdpRefreshToken).values(
                    token_hash=token_hash(presented),
                    family_id=uuid.uuid4().hex,
                    client_id=idp.client_id,
                    account_uuid=idp.pupil.account_uuid,
                    scope="openid ov_leerling offline_access",
                    auth_time=now - dt.timedelta(hours=1),
                    created_at=now - dt.timedelta(hours=1),
                    expires_at=now + dt.timedelta(days=1),
                )
            )
        answer = token_request(idp, grant_type="refresh_token", refresh_token=presented)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"] == "invalid_grant"
        assert "protocol_requires_login" in answer.json()["error_description"]
        assert "access_token" not in answer.json()
        with engine.connect() as conn:  # not rotated: nothing was issued for it
            used = conn.scalar(
                select(IdpRefreshToken.used_at).where(
                    IdpRefreshToken.token_hash == token_hash(presented)
                )
            )
        assert used is None
    finally:
        engine.dispose()


def test_a_code_with_offline_access_under_the_seed_gets_no_refresh_token(idp: RunningIdp) -> None:
    """A code issued with offline_access just before a version without it was stored."""
    verifier, challenge = pkce_pair()
    now = dt.datetime.now(dt.UTC)
    code = seal_code(
        server_sealer(idp.database_url),
        client_id=idp.client_id,
        account_uuid=idp.pupil.account_uuid,
        scope="openid ov_leerling offline_access",
        nonce=None,
        redirect_uri=idp.redirect_uri,
        code_challenge=challenge,
        sid=uuid.uuid4().hex,
        auth_time=now,
        now=now,
        lifetime=30,
    )
    answer = token_request(
        idp,
        grant_type="authorization_code",
        code=code,
        code_verifier=verifier,
        redirect_uri=idp.redirect_uri,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["access_token"] and "refresh_token" not in answer.json()
