"""RFC 6749 §4.4 (client credentials grant) and RFC 9068 (JWT access tokens) for DOV's APIs.

The grant gives a service provider an access token to its own API at DOV: the events
endpoint (RFC 8936 poll of the Security Event Tokens of issue 10, point 3). Checks, in order:

1. the client authenticated with its registered method (``client_auth``); a request without
   any client authentication is a public client's, and RFC 6749 §4.4 keeps this grant for
   confidential clients: ``unauthorized_client``;
2. ``scope`` (RFC 6749 §3.3) is ``leerid:events`` (the default when absent); any other
   scope value: ``invalid_scope``;
3. no refresh token (RFC 6749 §4.4.3) and no ID token (no user is involved).

The access token (RFC 9068 §2): a JWT signed with the provider's RS256 key, header ``typ``
``at+jwt``; ``iss`` the issuer, ``aud`` the events endpoint's URL (the resource it is for,
RFC 9068 §3), ``sub`` and ``client_id`` the client (§2.2: no user, so the client is the
subject), ``scope``, ``iat``, ``exp`` (300 s) and a ``jti``. It is verified, never stored: a
resource server checks signature, ``typ``, ``iss``, ``aud``, ``exp`` and ``scope`` (§4).
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
from leerid.idp.oauth.profiles import EVENTS_SCOPE

__all__ = [
    "ACCESS_TOKEN_LIFETIME",
    "ACCESS_TOKEN_TYPE",
    "CONFIDENTIAL_METHODS",
    "EVENTS_SCOPE",
    "EventsCaller",
    "InvalidTokenError",
    "granted_scope",
    "make_access_token",
    "read_access_token",
]

ACCESS_TOKEN_LIFETIME = 300
ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 (RFC 9068 §2.1: a media type, not a secret)
CONFIDENTIAL_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")
"""RFC 6749 §2.1: the methods a confidential client authenticates with."""
_ALG = "RS256"
_REGISTRY = JWSRegistry(algorithms=[_ALG])
_MAX_TOKEN = 4096


class SigningKey(Protocol):
    """A private key and its kid (``leerid.idp.store.keys.SigningKey``)."""

    @property
    def kid(self) -> str: ...
    @property
    def key(self) -> RSAKey | ECKey: ...


def granted_scope(auth_method: str | None, scope: str | None) -> str:
    """The scope granted to a client that authenticated with ``auth_method`` (None: it did
    not authenticate), or ``OAuthError`` (RFC 6749 §4.4, §5.2)."""
    if auth_method not in CONFIDENTIAL_METHODS:
        raise OAuthError(
            "unauthorized_client",
            "the client credentials grant is for confidential clients only (RFC 6749 §4.4): "
            "authenticate with the client's registered method",
        )
    asked = (scope or EVENTS_SCOPE).split()
    if not asked or any(s != EVENTS_SCOPE for s in asked):
        raise OAuthError("invalid_scope", f"the client credentials grant gives {EVENTS_SCOPE} only")
    return EVENTS_SCOPE


def make_access_token(
    key: SigningKey, *, issuer: str, audience: str, client_id: str, scope: str, now: int
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
class EventsCaller:
    """Who called, by a valid access token: its client id and scopes."""

    client_id: str
    scopes: frozenset[str]


def read_access_token(
    jwks: dict[str, Any], token: str, *, issuer: str, audience: str, now: float | None = None
) -> EventsCaller:
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
    if claims.get("aud") != audience:
        raise InvalidTokenError("the access token is for another resource")
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp <= moment:
        raise InvalidTokenError("the access token has expired; ask a new one at the token endpoint")
    client_id = claims.get("client_id")
    scope = claims.get("scope")
    if not isinstance(client_id, str) or not client_id or not isinstance(scope, str):
        raise InvalidTokenError("the access token names no client or scope")
    return EventsCaller(client_id, frozenset(scope.split()))
