"""The relying party against spec-shaped answers of an ACM/IDM-like issuer (httpx mock
transport standing in for the external provider): what must be refused is refused."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

from leerid.sp.kit.relying_party import LoginError, PendingLogin, RelyingParty
from leerid.sp.kit.settings import load_settings
from tests.sp.conftest import write_config

ISSUER = "https://authenticatie.vlaanderen.be/op"  # ACM/IDM's issuer form
CLIENT = "lars-client"


class Issuer:
    """Discovery and a key set with one RSA key, as an external provider publishes them."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
        self.requests: list[str] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(str(request.url))
        if request.url.path == "/op/.well-known/openid-configuration":
            return httpx.Response(
                200,
                json={
                    "issuer": ISSUER,
                    "authorization_endpoint": f"{ISSUER}/v1/auth",
                    "token_endpoint": f"{ISSUER}/v1/token",
                    "userinfo_endpoint": f"{ISSUER}/v1/userinfo",
                    "jwks_uri": f"{ISSUER}/v1/keys",
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "authorization_response_iss_parameter_supported": True,
                },
            )
        if request.url.path == "/op/v1/keys":
            return httpx.Response(200, json=KeySet([self.key]).as_dict(private=False))
        return httpx.Response(404)

    def token(self, **claims: Any) -> str:
        now = int(time.time())
        body = {
            "iss": ISSUER,
            "sub": "acc",
            "aud": CLIENT,
            "iat": now,
            "exp": now + 300,
            "nonce": "n1",
            **claims,
        }
        return jwt.encode({"alg": "RS256", "kid": "k1"}, body, self.key)


@pytest.fixture
def rp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[RelyingParty, Issuer]:
    monkeypatch.setenv("LARS_TEST_SECRET", "s3cret")
    config = write_config(
        tmp_path, f"sqlite:///{tmp_path / 'x.db'}", issuer=ISSUER, client_id=CLIENT
    )
    issuer = Issuer()
    http = httpx.AsyncClient(transport=httpx.MockTransport(issuer.handler))
    return RelyingParty(load_settings(config), http=http), issuer


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_authorization_request_for_an_acm_issuer(rp: tuple[RelyingParty, Issuer]) -> None:
    party, issuer = rp
    url, pending = run(party.begin())
    assert issuer.requests[0] == f"{ISSUER}/.well-known/openid-configuration"
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert url.startswith(f"{ISSUER}/v1/auth?")
    assert query["response_type"] == "code" and query["client_id"] == CLIENT
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["state"] == pending.state and query["nonce"] == pending.nonce
    assert set(query["scope"].split()) == {"openid", "profile", "ov_leerling"}


def test_id_token_checks(rp: tuple[RelyingParty, Issuer]) -> None:
    """OIDC Core 3.1.3.7."""
    party, issuer = rp
    assert run(party.validate_id_token(issuer.token(), "n1"))["sub"] == "acc"
    refused = {
        "expired": issuer.token(exp=int(time.time()) - 3600),
        "other audience": issuer.token(aud="another-client"),
        "other issuer": issuer.token(iss="https://evil.example/op"),
        "wrong nonce": issuer.token(nonce="n2"),
        "no nonce": issuer.token(nonce=None),
    }
    for reason, token in refused.items():
        with pytest.raises(LoginError):
            run(party.validate_id_token(token, "n1"))
            pytest.fail(reason)
    # never an HMAC token keyed with anything the client could be tricked into using
    hs = jwt.encode(
        {"alg": "HS256", "kid": "k1"}, {"iss": ISSUER, "aud": CLIENT}, OctKey.generate_key(256)
    )
    with pytest.raises(LoginError):
        run(party.validate_id_token(hs, "n1"))


def test_unknown_kid_refetches_the_key_set_once(rp: tuple[RelyingParty, Issuer]) -> None:
    """OIDC Core 10.1.1: keys rotate; one refetch, then refuse."""
    party, issuer = rp
    run(party.validate_id_token(issuer.token(), "n1"))
    fetches = issuer.requests.count(f"{ISSUER}/v1/keys")
    issuer.key = RSAKey.generate_key(2048, parameters={"kid": "k2"}, private=True)
    now = int(time.time())
    rotated = jwt.encode(
        {"alg": "RS256", "kid": "k2"},
        {"iss": ISSUER, "sub": "acc", "aud": CLIENT, "iat": now, "exp": now + 60, "nonce": "n1"},
        issuer.key,
    )
    assert run(party.validate_id_token(rotated, "n1"))["sub"] == "acc"
    assert issuer.requests.count(f"{ISSUER}/v1/keys") == fetches + 1
    stranger = RSAKey.generate_key(2048, parameters={"kid": "k9"}, private=True)
    forged = jwt.encode(
        {"alg": "RS256", "kid": "k9"},
        {"iss": ISSUER, "sub": "acc", "aud": CLIENT, "iat": now, "exp": now + 60, "nonce": "n1"},
        stranger,
    )
    with pytest.raises(LoginError):
        run(party.validate_id_token(forged, "n1"))
    assert issuer.requests.count(f"{ISSUER}/v1/keys") == fetches + 2


def test_an_error_response_is_checked_for_state_and_iss_first(
    rp: tuple[RelyingParty, Issuer],
) -> None:
    """RFC 9207: an error from another issuer is not believed."""
    party, _ = rp
    pending = PendingLogin("s1", "n1", "v" * 43)
    with pytest.raises(LoginError) as err:
        run(party.finish({"state": "s1", "error": "access_denied", "iss": ISSUER}, pending))
    assert err.value.code == "access_denied"
    with pytest.raises(LoginError) as err:
        run(party.finish({"state": "s1", "error": "access_denied"}, pending))
    assert err.value.code == "iss_mismatch"


def test_discovery_for_another_issuer_is_refused(tmp_path: Path) -> None:
    """OIDC Discovery 4.3: the document's issuer must be the configured one."""
    config = write_config(tmp_path, f"sqlite:///{tmp_path / 'x.db'}", issuer=ISSUER)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"issuer": "https://evil.example/op"})

    party = RelyingParty(
        load_settings(config), http=httpx.AsyncClient(transport=httpx.MockTransport(handler))
    )
    with pytest.raises(LoginError) as err:
        run(party.begin())
    assert err.value.code == "issuer_mismatch"
