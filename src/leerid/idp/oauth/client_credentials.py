"""RFC 6749 §4.4 (client credentials grant) and RFC 9068 (JWT access tokens) for DOV's APIs.

The grant gives a service provider an access token to its own APIs at DOV (issue 14 §4), one
scope per API (``profiles.API_SCOPES``): ``leerid:events`` (RFC 8936 poll of the Security
Event Tokens, issue 10), ``leerid:quality-reports`` (art. 7) and ``leerid:notices`` (art. 6,
9). Checks, in order:

1. the client authenticated with its registered method (``client_auth``); a request without
   any client authentication is a public client's, and RFC 6749 §4.4 keeps this grant for
   confidential clients: ``unauthorized_client``;
2. ``scope`` (RFC 6749 §3.3) lists only API scopes the client is allowed
   (``idp_client.api_scopes``); any other value: ``invalid_scope`` naming the allowed ones.
   Without ``scope`` the default is every API scope the client is allowed (§3.3: "a
   pre-defined default value"), and the answer's ``scope`` says which (§5.1);
3. no refresh token (RFC 6749 §4.4.3) and no ID token (no user is involved).

The access token (RFC 9068 §2): a JWT signed with the provider's RS256 key, header ``typ``
``at+jwt``; ``iss`` the issuer, ``aud`` the URL of each API its scopes cover (RFC 9068 §3:
the resource it is for; RFC 8707 §2: a resource is named by its absolute URL), a string
for one API and an array for several; ``sub`` and ``client_id`` the client (§2.2: no user,
so the client is the subject), ``scope``, ``iat``, ``exp`` (300 s) and a ``jti``. It is
verified, never stored: an API checks signature, ``typ``, ``iss``, that ``aud`` names it,
``exp`` and its own scope (§4).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any, Protocol

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey
from joserfc.jws import JWSRegistry

from leerid.idp.oauth.errors import OAuthError
from leerid.idp.oauth.profiles import (
    API_SCOPES,
    EVENTS_SCOPE,
    NOTICES_SCOPE,
    QUALITY_REPORTS_SCOPE,
)

__all__ = [
    "ACCESS_TOKEN_LIFETIME",
    "ACCESS_TOKEN_TYPE",
    "API_PATHS",
    "API_SCOPES",
    "CONFIDENTIAL_METHODS",
    "EVENTS_SCOPE",
    "NOTICES_SCOPE",
    "QUALITY_REPORTS_SCOPE",
    "ApiCaller",
    "EventsCaller",
    "InvalidTokenError",
    "api_audience",
    "granted_scope",
    "make_access_token",
    "read_access_token",
    "token_audience",
]

ACCESS_TOKEN_LIFETIME = 300
ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 (RFC 9068 §2.1: a media type, not a secret)
CONFIDENTIAL_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")
"""RFC 6749 §2.1: the methods a confidential client authenticates with."""
_ALG = "RS256"
_REGISTRY = JWSRegistry(algorithms=[_ALG])
_MAX_TOKEN = 4096

API_PATHS = {
    EVENTS_SCOPE: "v1/events",
    QUALITY_REPORTS_SCOPE: "v1/quality-reports",
    NOTICES_SCOPE: "v1/notices",
}
"""RFC 9068 §3, RFC 8707 §2: the endpoint (under the issuer) that names each API in ``aud``."""


class SigningKey(Protocol):
    """A private key and its kid (``leerid.idp.store.keys.SigningKey``)."""

    @property
    def kid(self) -> str: ...
    @property
    def key(self) -> RSAKey | ECKey: ...


def granted_scope(
    auth_method: str | None, scope: str | None, allowed: tuple[str, ...] = API_SCOPES
) -> str:
    """The scope granted to a client that authenticated with ``auth_method`` (None: it did
    not authenticate) and may call the APIs of ``allowed``, or ``OAuthError`` (RFC 6749 §4.4,
    §3.3, §5.2)."""
    if auth_method not in CONFIDENTIAL_METHODS:
        raise OAuthError(
            "unauthorized_client",
            "the client credentials grant is for confidential clients only (RFC 6749 §4.4): "
            "authenticate with the client's registered method",
        )
    may = [s for s in API_SCOPES if s in allowed]  # in API_SCOPES' order
    if not may:
        raise OAuthError(
            "invalid_scope",
            "this client may call none of DOV's APIs; ask DOV to register the API scopes it "
            f"needs ({', '.join(API_SCOPES)})",
        )
    asked = may if not scope else scope.split()
    wrong = [s for s in asked if s not in may]
    if not asked or wrong:
        what = f"{', '.join(wrong)} is not" if wrong else "an empty scope is not"
        raise OAuthError(
            "invalid_scope",
            f"{what} allowed for this client; ask scope from: {' '.join(may)} "
            "(or leave scope out for all of them)",
        )
    return " ".join(s for s in may if s in asked)  # each once, in a fixed order


def api_audience(issuer: str, scope: str) -> str:
    """RFC 9068 §3: the ``aud`` value naming the API of ``scope`` (its endpoint's URL)."""
    return f"{issuer}/{API_PATHS[scope]}"


def token_audience(issuer: str, scope: str) -> str | list[str]:
    """The ``aud`` of a token with ``scope``: each API it covers (one: a string)."""
    audiences = [api_audience(issuer, s) for s in scope.split() if s in API_PATHS]
    return audiences[0] if len(audiences) == 1 else audiences


def make_access_token(
    key: SigningKey,
    *,
    issuer: str,
    audience: str | list[str],
    client_id: str,
    scope: str,
    now: int,
) -> str:
    """RFC 9068 §2.2: the JWT access token of ``client_id`` for ``audience``."""
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": client_id,
        "client_id": client_id,
        "scope": scope,
        "iat": now,
        "exp": now + ACCESS_TOKEN_LIFETIME,
        "jti": secrets.token_hex(16),
    }
    header = {"alg": _ALG, "kid": key.kid, "typ": ACCESS_TOKEN_TYPE}
    return jwt.encode(header, claims, key.key, registry=_REGISTRY)


class InvalidTokenError(Exception):
    """RFC 6750 §3.1 ``invalid_token``: why the bearer token is refused (no token inside)."""


@dataclass(frozen=True)
class ApiCaller:
    """Who called, by a valid access token: its client id and scopes."""

    client_id: str
    scopes: frozenset[str]


EventsCaller = ApiCaller
"""The name of issue 10, when the events API was the only one."""


def read_access_token(
    jwks: dict[str, Any], token: str, *, issuer: str, audience: str, now: float | None = None
) -> ApiCaller:
    """RFC 9068 §4: the caller of a valid access token, or ``InvalidTokenError`` with the reason."""
    if not token or len(token) > _MAX_TOKEN:
        raise InvalidTokenError("the access token is missing or too long")
    try:
        decoded = jwt.decode(token, KeySet.import_key_set(jwks), registry=_REGISTRY)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError):
        raise InvalidTokenError("the access token is not one this provider signed") from None
    if str(decoded.header.get("typ", "")).lower() not in (ACCESS_TOKEN_TYPE, "application/at+jwt"):
        raise InvalidTokenError("the token is not an access token (typ at+jwt, RFC 9068 §2.1)")
    claims = decoded.claims
    moment = time.time() if now is None else now
    if claims.get("iss") != issuer:
        raise InvalidTokenError("the access token was issued by another provider")
    aud = claims.get("aud")
    if not (aud == audience or (isinstance(aud, list) and audience in aud)):
        raise InvalidTokenError("the access token is for another resource")
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp <= moment:
        raise InvalidTokenError("the access token has expired; ask a new one at the token endpoint")
    client_id = claims.get("client_id")
    scope = claims.get("scope")
    if not isinstance(client_id, str) or not client_id or not isinstance(scope, str):
        raise InvalidTokenError("the access token names no client or scope")
    return ApiCaller(client_id, frozenset(scope.split()))
