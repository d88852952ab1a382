"""RFC 6749 §4.4 client credentials for DOV's events API: the grant, the RFC 9068 access
token, and every refusal of the token endpoint and of the bearer check (issue 10, point 3).

A real provider on loopback per module and backend (``idp`` fixture); the tokens are
verified with joserfc against the provider's published keys.
"""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from leerid.idp.oauth.client_credentials import (
    EVENTS_SCOPE,
    InvalidTokenError,
    granted_scope,
    make_access_token,
    read_access_token,
)
from leerid.idp.oauth.errors import OAuthError
from leerid.idp.store.clients import add_client, disable_client
from leerid.idp.store.keys import KeyRing
from leerid.store.engine import make_engine
from tests.idp.events_kit import events_token, poll_response, token_response
from tests.idp_server import REDIRECT_URI, RunningIdp

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


# -- the pure rule -----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post", "private_key_jwt"])
def test_confidential_clients_get_the_events_scope(method: str) -> None:
    assert granted_scope(method, EVENTS_SCOPE) == EVENTS_SCOPE
    assert granted_scope(method, None, (EVENTS_SCOPE,)) == EVENTS_SCOPE


@pytest.mark.parametrize("scope", ["openid", "leerid:events openid", "ov_leerling", " "])
def test_other_scopes_are_invalid(scope: str) -> None:
    with pytest.raises(OAuthError) as refused:
        granted_scope("client_secret_basic", scope)
    assert refused.value.error == "invalid_scope"


@pytest.mark.parametrize("method", [None, "none", ""])
def test_a_public_client_is_unauthorized(method: str | None) -> None:
    with pytest.raises(OAuthError) as refused:
        granted_scope(method, EVENTS_SCOPE)
    assert refused.value.error == "unauthorized_client"


class _Key:
    def __init__(self, key: RSAKey) -> None:
        self.kid = str(key.kid)
        self.key = key


def test_the_access_token_reader_refuses_what_it_must() -> None:
    key = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
    other = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
    jwks = {"keys": [key.as_dict(private=False)]}
    now = int(time.time())
    made = {"issuer": "https://i/op", "audience": "https://i/op/v1/events", "client_id": "c"}

    def token(signer: RSAKey = key, at: int = now, **changes: str) -> str:
        values = {**made, **changes}
        return make_access_token(_Key(signer), scope=EVENTS_SCOPE, now=at, **values)

    caller = read_access_token(jwks, token(), issuer="https://i/op", audience=made["audience"])
    assert caller.client_id == "c" and EVENTS_SCOPE in caller.scopes
    for bad, reason in (
        (token(signer=other), "not one this provider signed"),
        (token(at=now - 301), "expired"),
        (token(issuer="https://other/op"), "another provider"),
        (token(audience="https://i/op/v1/userinfo"), "another resource"),
        ("", "missing"),
        ("a.b.c", "not one this provider signed"),
    ):
        with pytest.raises(InvalidTokenError, match=reason):
            read_access_token(jwks, bad, issuer="https://i/op", audience=made["audience"])
    id_token = jwt.encode(
        {"alg": "RS256", "kid": "k1", "typ": "JWT"},
        {"iss": "https://i/op", "aud": made["audience"], "exp": now + 60},
        key,
    )
    with pytest.raises(InvalidTokenError, match="not an access token"):
        read_access_token(jwks, id_token, issuer="https://i/op", audience=made["audience"])


# -- the token endpoint ------------------------------------------------------------------------


def test_the_grant_gives_an_rfc9068_token_and_nothing_else(idp: RunningIdp) -> None:
    answer = token_response(idp, idp.client_id, idp.client_secret)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300
    assert body["scope"] == EVENTS_SCOPE
    keys = KeySet.import_key_set(httpx.get(f"{idp.issuer}/v1/keys").json())
    token = jwt.decode(body["access_token"], keys, algorithms=["RS256"])
    assert token.header["typ"] == "at+jwt"
    claims = token.claims
    assert claims["iss"] == idp.issuer
    assert claims["aud"] == f"{idp.issuer}/v1/events"
    assert claims["sub"] == claims["client_id"] == idp.client_id
    assert claims["exp"] - claims["iat"] == 300 and len(claims["jti"]) == 32
    # No scope asked: every API scope the client may have (issue 14 §4).
    assert token_response(idp, idp.client_id, idp.client_secret, scope=None).status_code == 200


def test_refusals_of_the_token_endpoint(idp: RunningIdp) -> None:
    wrong_scope = token_response(idp, idp.client_id, idp.client_secret, scope="openid")
    assert (wrong_scope.status_code, wrong_scope.json()["error"]) == (400, "invalid_scope")
    wrong_secret = token_response(idp, idp.client_id, "not-the-secret")
    assert (wrong_secret.status_code, wrong_secret.json()["error"]) == (401, "invalid_client")
    public = httpx.post(
        f"{idp.issuer}/v1/token",
        data={"grant_type": "client_credentials", "client_id": idp.client_id},
    )
    assert (public.status_code, public.json()["error"]) == (400, "unauthorized_client")
    unknown = token_response(idp, "no-such-client", "x")
    assert unknown.json()["error"] == "invalid_client"


def test_client_secret_post_and_private_key_jwt_get_tokens(idp: RunningIdp) -> None:
    posted = httpx.post(
        f"{idp.issuer}/v1/token",
        data={
            "grant_type": "client_credentials",
            "scope": EVENTS_SCOPE,
            "client_id": idp.client_id,
            "client_secret": idp.client_secret,
        },
    )
    assert posted.status_code == 401  # registered for client_secret_basic: only that method
    key = ECKey.generate_key("P-256", parameters={"kid": "lars-1"}, private=True)
    engine = make_engine(idp.database_url)
    client, _ = add_client(
        engine,
        name="LARS (events)",
        protocol_id=idp.seed.protocol_id,
        redirect_uris=[REDIRECT_URI],
        auth_method="private_key_jwt",
        jwks={"keys": [key.as_dict(private=False)]},
    )
    engine.dispose()
    now = int(time.time())
    claims = {
        "iss": client.client_id,
        "sub": client.client_id,
        "aud": idp.issuer,
        "iat": now,
        "exp": now + 60,
        "jti": str(uuid.uuid4()),
    }
    assertion = jwt.encode({"alg": "ES256", "kid": "lars-1"}, claims, key, algorithms=["ES256"])
    answer = httpx.post(
        f"{idp.issuer}/v1/token",
        data={
            "grant_type": "client_credentials",
            "scope": EVENTS_SCOPE,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
    )
    assert answer.status_code == 200, answer.text
    assert "refresh_token" not in answer.json() and "id_token" not in answer.json()
    polled = poll_response(idp, answer.json()["access_token"], {"returnImmediately": True})
    assert polled.status_code == 200, polled.text


def test_discovery_lists_the_grant_and_the_events_endpoint(idp: RunningIdp) -> None:
    oidc = httpx.get(f"{idp.issuer}/.well-known/openid-configuration").json()
    assert "client_credentials" in oidc["grant_types_supported"]
    assert oidc["leerid_events_endpoint"] == f"{idp.issuer}/v1/events"
    ssf = httpx.get(f"{idp.issuer}/.well-known/ssf-configuration").json()
    assert ssf["issuer"] == idp.issuer and ssf["jwks_uri"] == oidc["jwks_uri"]
    assert ssf["delivery_methods_supported"] == ["urn:ietf:rfc:8936"]


# -- the bearer check of the events endpoint ---------------------------------------------------


def _challenge(answer: httpx.Response) -> str:
    assert answer.status_code == 401, answer.text
    return answer.headers["www-authenticate"]


def test_bad_missing_expired_and_foreign_tokens_are_refused(idp: RunningIdp) -> None:
    body = {"returnImmediately": True}
    missing = httpx.post(f"{idp.issuer}/v1/events", json=body)
    assert 'error="invalid_token"' in _challenge(missing)
    assert 'error="invalid_token"' in _challenge(poll_response(idp, "garbage", body))
    engine = make_engine(idp.database_url)
    ring = KeyRing(engine, 3600, 0)
    expired = make_access_token(
        ring.signing_key("RS256"),
        issuer=idp.issuer,
        audience=f"{idp.issuer}/v1/events",
        client_id=idp.client_id,
        scope=EVENTS_SCOPE,
        now=int(time.time()) - 400,
    )
    assert "expired" in _challenge(poll_response(idp, expired, body))
    # An ordinary access token of a login is not a token of this API.
    engine.dispose()
    foreign = RSAKey.generate_key(2048, parameters={"kid": "x"}, private=True)
    forged = make_access_token(
        _Key(foreign),
        issuer=idp.issuer,
        audience=f"{idp.issuer}/v1/events",
        client_id=idp.client_id,
        scope=EVENTS_SCOPE,
        now=int(time.time()),
    )
    assert "not one this provider signed" in _challenge(poll_response(idp, forged, body))


def test_a_disabled_client_s_token_stops_working(idp: RunningIdp) -> None:
    engine = make_engine(idp.database_url)
    client, secret = add_client(
        engine, name="Soon gone", protocol_id=idp.seed.protocol_id, redirect_uris=[REDIRECT_URI]
    )
    assert secret is not None
    token = events_token(idp, client.client_id, secret)
    assert poll_response(idp, token, {"returnImmediately": True}).status_code == 200
    disable_client(engine, client.client_id)
    engine.dispose()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the provider caches clients for 1 s
        answer = poll_response(idp, token, {"returnImmediately": True})
        if answer.status_code == 401:
            break
        time.sleep(0.3)
    assert "disabled" in _challenge(answer)
