"""The client side of the code flow with PKCE: a request, the code, tokens, a verified ID token.

The rules are plain functions (``pkce_pair``, ``authorization_url``, ``code_from``,
``token_form``, ``verify_id_token``) so that any transport can use them: the benchmark's own
lean HTTP client, or ``RelyingParty`` here, a confidential client on Authlib's httpx
``OAuth2Client`` as a service provider would write it.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet

from leerid.errors import LeeridError

if TYPE_CHECKING:  # Authlib loads only for RelyingParty: the benchmark needs the rules alone
    from authlib.integrations.httpx_client import OAuth2Client

__all__ = [
    "ALGORITHMS",
    "SCOPE",
    "Authorization",
    "RelyingParty",
    "authorization_url",
    "basic_auth",
    "code_from",
    "pkce_pair",
    "query",
    "token_form",
    "verify_id_token",
]

SCOPE = "openid profile ov_leerling"
ALGORITHMS = ["RS256", "ES256", "PS256"]


@dataclass
class Authorization:
    """The client side of one authorization request."""

    url: str
    state: str
    nonce: str
    verifier: str


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge), RFC 7636 §4.1-4.2."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorization_url(
    issuer: str, client_id: str, redirect_uri: str, challenge: str, **extra: str
) -> tuple[str, str, str]:
    """The URL of an authorization request (``scope`` may be in ``extra``): URL, state, nonce."""
    state, nonce = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": SCOPE,
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return f"{issuer}/v1/auth?{urlencode(params)}", state, nonce


def query(location: str) -> dict[str, str]:
    """The query parameters of a redirect (the first value of each)."""
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def code_from(location: str, state: str, issuer: str) -> str:
    """The code of an authorization response, after checking ``state`` and ``iss`` (RFC 9207)."""
    params = parse_qs(urlsplit(location).query)
    if params.get("state") != [state] or params.get("iss") != [issuer] or "code" not in params:
        raise LeeridError(f"bad authorization response: {location[:200]}")
    return params["code"][0]


def token_form(code: str, redirect_uri: str, verifier: str) -> dict[str, str]:
    """The token request of the authorization code grant (RFC 6749 §4.1.3, RFC 7636 §4.5)."""
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }


def basic_auth(client_id: str, secret: str) -> dict[str, str]:
    """RFC 6749 §2.3.1: client_secret_basic (form-urlencoded id and secret)."""
    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def verify_id_token(
    id_token: str, keys: KeySet, issuer: str, client_id: str, nonce: str | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims, after checking the signature by ``kid``, iss, aud, sub, exp, nonce.

    OpenID Connect Core §3.1.3.7; ``nonce`` None skips the nonce (a refreshed ID token).
    """
    token = jwt.decode(id_token, keys, algorithms=ALGORITHMS)
    header, claims = dict(token.header), dict(token.claims)
    if header.get("kid") not in {key.kid for key in keys.keys}:
        raise LeeridError(f"ID token signed with an unknown kid {header.get('kid')!r}")
    expected: dict[str, Any] = {
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": client_id},
        "sub": {"essential": True},
        "exp": {"essential": True},
    }
    if nonce is not None:
        expected["nonce"] = {"essential": True, "value": nonce}
    jwt.JWTClaimsRegistry(**expected).validate(claims)
    return header, claims


class RelyingParty:
    """A confidential client of a LeerID provider, on Authlib, with the checks it leaves out."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        *,
        auth_method: str = "client_secret_basic",
        scope: str = SCOPE,
    ) -> None:
        from authlib.integrations.httpx_client import OAuth2Client

        self.issuer = issuer
        self.discovery = httpx.get(f"{issuer}/.well-known/openid-configuration").json()
        self.oauth: OAuth2Client = OAuth2Client(
            client_id,
            client_secret,
            scope=scope,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method=auth_method,
        )

    def authorization(self, **extra: str) -> Authorization:
        """A fresh authorization request (PKCE S256, state, nonce)."""
        verifier, _ = pkce_pair()
        nonce = secrets.token_urlsafe(16)
        url, state = self.oauth.create_authorization_url(
            self.discovery["authorization_endpoint"], code_verifier=verifier, nonce=nonce, **extra
        )
        return Authorization(url, state, nonce, verifier)

    def fetch_token(self, location: str, verifier: str) -> dict[str, Any]:
        """Redeem the code of the redirect ``location`` (state checked by Authlib)."""
        return dict(
            self.oauth.fetch_token(
                self.discovery["token_endpoint"],
                authorization_response=location,
                code_verifier=verifier,
            )
        )

    def keys(self) -> KeySet:
        """The provider's current signing keys."""
        return KeySet.import_key_set(httpx.get(self.discovery["jwks_uri"]).json())

    def verify_id_token(
        self, id_token: str, nonce: str | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Header and claims of a verified ID token (see ``verify_id_token``)."""
        client_id = str(self.oauth.client_id)
        return verify_id_token(id_token, self.keys(), self.issuer, client_id, nonce)

    def userinfo(self, access_token: str) -> httpx.Response:
        """The userinfo answer for ``access_token`` (GET, bearer header)."""
        headers = {"Authorization": f"Bearer {access_token}"}
        return httpx.get(self.discovery["userinfo_endpoint"], headers=headers)
