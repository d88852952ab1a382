"""Authlib's client, a relying party that is not ours, against leerid in both profiles.

Issue 14, point 5. Authlib's httpx ``OAuth2Client`` makes the authorization request from the
discovery document (PKCE S256, state, nonce), redeems the code with its own client
authentication (``client_secret_basic``, ``client_secret_post``, ``PrivateKeyJWT``), and
Authlib's ``CodeIDToken`` validates the ID token (signature through the JWKS, iss, aud, nonce,
at_hash, exp). The pupil's browser is ``leerid.testing.browser`` (no JavaScript): under
``acm`` it reads the form_post page and posts its fields, as the page's script would.
"""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from authlib.oauth2.rfc6749.parameters import parse_authorization_code_response
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oauth2.rfc7523.assertion import private_key_jwt_sign
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from joserfc.jws import JWSRegistry

from leerid.testing.browser import Browser
from tests.interop.conftest import InteropClient, InteropIdp, form_post_fields

REDIRECT_URI = "http://127.0.0.1/authlib/cb"
LOGOUT_URI = "http://127.0.0.1/authlib/bye"
SCOPE = "openid profile ov_leerling"
NINE_MINUTES = 540


class LongAssertion(PrivateKeyJWT):  # type: ignore[misc]
    """Authlib's ``private_key_jwt`` with an assertion valid for ``expires_in`` seconds, as
    ACM's public samples make them (8 to 10 minutes)."""

    def __init__(self, token_endpoint: str, expires_in: int) -> None:
        super().__init__(token_endpoint)
        self.expires_in = expires_in

    def sign(self, auth: Any, token_endpoint: str) -> str:
        return str(
            private_key_jwt_sign(
                auth.client_secret,
                client_id=auth.client_id,
                token_endpoint=token_endpoint,
                alg=self.alg,
                expires_in=self.expires_in,
            )
        )


def discovery(idp: InteropIdp) -> dict[str, Any]:
    answer = httpx.get(f"{idp.issuer}/.well-known/openid-configuration")
    assert answer.status_code == 200
    return dict(answer.json())


def oauth_client(client: InteropClient, auth_method: str, secret: Any = None) -> OAuth2Client:
    return OAuth2Client(
        client.client_id,
        secret if secret is not None else client.secret,
        scope=SCOPE,
        redirect_uri=client.redirect_uri,
        code_challenge_method="S256",
        token_endpoint_auth_method=auth_method,
    )


def log_in(idp: InteropIdp, url: str) -> dict[str, str]:
    """The pupil logs in; the fields of the authorization response (query or form_post)."""
    with Browser() as browser:
        done = idp.log_in(browser, url)
    if done.status_code == 303:  # response_mode=query: a redirect with the code in its query
        return {k: v[0] for k, v in parse_qs(urlsplit(done.headers["location"]).query).items()}
    return form_post_fields(done, REDIRECT_URI)  # a page that posts to the client


def id_token_claims(
    doc: dict[str, Any], oauth: OAuth2Client, token: dict[str, Any], nonce: str
) -> CodeIDToken:
    """Authlib's validation of an ID token, as its OpenID client does it (``parse_id_token``)."""
    keys = KeySet.import_key_set(httpx.get(doc["jwks_uri"]).json())
    algorithms = doc["id_token_signing_alg_values_supported"]
    decoded = jwt.decode(token["id_token"], keys, registry=JWSRegistry(algorithms=algorithms))
    params = {"nonce": nonce, "client_id": oauth.client_id, "access_token": token["access_token"]}
    options = {"iss": {"essential": True, "values": [doc["issuer"]]}}
    claims = CodeIDToken(decoded.claims, decoded.header, options, params)
    claims.validate(leeway=5)
    return claims


def authlib_login(
    idp: InteropIdp, oauth: OAuth2Client, **extra: str
) -> tuple[dict[str, Any], CodeIDToken, dict[str, str]]:
    """A whole login by Authlib: token, validated ID token, the authorization response."""
    doc = discovery(idp)
    verifier, nonce = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
    url, state = oauth.create_authorization_url(
        doc["authorization_endpoint"], code_verifier=verifier, nonce=nonce, **extra
    )
    response = log_in(idp, url)
    query = "&".join(f"{k}={v}" for k, v in response.items())
    fields = parse_authorization_code_response(f"{REDIRECT_URI}?{query}", state)  # Authlib's
    token = oauth.fetch_token(
        doc["token_endpoint"], code=fields["code"], state=state, code_verifier=verifier
    )
    return dict(token), id_token_claims(doc, oauth, dict(token), nonce), response


def test_strict_query_s256_and_client_secret_basic(interop_idp: InteropIdp) -> None:
    client = interop_idp.register("strict", REDIRECT_URI, LOGOUT_URI)
    oauth = oauth_client(client, "client_secret_basic")
    _, claims, response = authlib_login(interop_idp, oauth)
    assert response["iss"] == interop_idp.issuer  # RFC 9207, in the query
    assert claims["aud"] == client.client_id and claims["iss"] == interop_idp.issuer
    assert claims["ov_account_uuid"] == interop_idp.pupil.account_uuid
    assert claims["sub"] == interop_idp.pupil.account_uuid  # strict: today's subject
    userinfo = oauth.get(discovery(interop_idp)["userinfo_endpoint"]).json()
    assert userinfo["ov_account_uuid"] == interop_idp.pupil.account_uuid


def test_acm_form_post_and_client_secret_post_with_an_opaque_sub(interop_idp: InteropIdp) -> None:
    client = interop_idp.register("acm", REDIRECT_URI, LOGOUT_URI, auth_method="client_secret_post")
    oauth = oauth_client(client, "client_secret_post")
    _, claims, response = authlib_login(interop_idp, oauth, response_mode="form_post")
    assert set(response) >= {"code", "state"}
    assert claims["ov_account_uuid"] == interop_idp.pupil.account_uuid
    assert re.fullmatch(r"[0-9a-f]{40}", claims["sub"])  # art.: ACM's identifier, not the account
    assert interop_idp.pupil.account_uuid.replace("-", "") not in claims["sub"]
    userinfo = oauth.get(discovery(interop_idp)["userinfo_endpoint"]).json()
    assert userinfo["sub"] == claims["sub"]
    assert userinfo["ov_account_uuid"] == interop_idp.pupil.account_uuid


def jwt_client(idp: InteropIdp, profile: str) -> tuple[InteropClient, RSAKey]:
    key = RSAKey.generate_key(2048, parameters={"kid": f"authlib-{profile}"}, private=True)
    jwks = {"keys": [key.as_dict(private=False)]}
    client = idp.register(
        profile, REDIRECT_URI, LOGOUT_URI, auth_method="private_key_jwt", jwks=jwks
    )
    return client, key


def test_acm_takes_authlibs_private_key_jwt_valid_for_nine_minutes(interop_idp: InteropIdp) -> None:
    client, key = jwt_client(interop_idp, "acm")
    oauth = oauth_client(client, "private_key_jwt", secret=key)
    token_endpoint = discovery(interop_idp)["token_endpoint"]
    oauth.register_client_auth_method(LongAssertion(token_endpoint, NINE_MINUTES))
    _, claims, _ = authlib_login(interop_idp, oauth, response_mode="form_post")
    assert claims["ov_account_uuid"] == interop_idp.pupil.account_uuid


def test_strict_refuses_the_same_nine_minute_assertion(interop_idp: InteropIdp) -> None:
    """strict keeps the 5-minute cap: Authlib reports invalid_client from the token endpoint."""
    client, key = jwt_client(interop_idp, "strict")
    oauth = oauth_client(client, "private_key_jwt", secret=key)
    token_endpoint = discovery(interop_idp)["token_endpoint"]
    oauth.register_client_auth_method(LongAssertion(token_endpoint, NINE_MINUTES))
    with pytest.raises(OAuthError) as refused:
        authlib_login(interop_idp, oauth)
    assert refused.value.error == "invalid_client"
