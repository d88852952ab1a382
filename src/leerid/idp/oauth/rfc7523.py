"""RFC 7523 §2.2 and §3: client authentication with a signed JWT (``private_key_jwt``).

Checks, in order: an allowed algorithm (RS256, PS256, ES256 — never ``none`` or HMAC); a
signature by a key of the client's registered key set (``--jwks`` or ``--jwks-uri``, refetched
once on an unknown ``kid``); ``iss`` = ``sub`` = client id; ``aud`` the issuer or the token
endpoint (ACM clients put the issuer); ``exp`` in the future and at most the client
profile's ``assertion_max_lifetime`` ahead (5 minutes ``strict``, 10 ``acm``: issue 14 §1);
``jti`` used only once (kept until the assertion expires, in the database: all nodes).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Protocol

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from leerid.idp.oauth.errors import OAuthError

__all__ = [
    "ASSERTION_ALGORITHMS",
    "ASSERTION_TYPE",
    "LEEWAY",
    "MIN_REFETCH",
    "AssertingClient",
    "KeySource",
    "unverified_parts",
    "verify_client_assertion",
]

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGORITHMS = ["RS256", "PS256", "ES256"]
MAX_LIFETIME = 300
"""Issue 4 §2: ``exp`` at most 5 minutes ahead (the ``strict`` profile's limit)."""
LEEWAY = 30
MIN_REFETCH = 10
"""Seconds between two fetches of one ``jwks_uri`` for an unknown ``kid``."""


class KeySource(Protocol):
    """Where the key sets of clients registered with ``--jwks-uri`` come from."""

    def get(self, uri: str, *, refresh: bool = False) -> dict[str, Any]: ...


class AssertingClient(Protocol):
    """A client as RFC 7523 needs it (``leerid.idp.store.clients.Client`` has these)."""

    @property
    def client_id(self) -> str: ...
    @property
    def jwks(self) -> dict[str, Any] | None: ...
    @property
    def jwks_uri(self) -> str | None: ...


def _key_set(client: AssertingClient, fetcher: KeySource, kid: str | None) -> KeySet:
    if client.jwks is not None:
        return KeySet.import_key_set(client.jwks)  # type: ignore[arg-type]
    if client.jwks_uri is None:
        raise OAuthError("invalid_client", "the client has no registered keys")
    data = fetcher.get(client.jwks_uri)
    if kid is not None and all(k.get("kid") != kid for k in data["keys"]):
        data = fetcher.get(client.jwks_uri, refresh=True)  # keys rotated at the client
    return KeySet.import_key_set(data)  # type: ignore[arg-type]


def unverified_parts(assertion: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a JWT *before* its signature is checked (to find the key)."""
    try:
        obj = jws.extract_compact(assertion.encode())
        claims = json.loads(obj.payload)
    except (JoseError, ValueError, UnicodeDecodeError):
        raise OAuthError("invalid_client", "client_assertion is not a JWT") from None
    if not isinstance(claims, dict):
        raise OAuthError("invalid_client", "client_assertion is not a JWT")
    return dict(obj.protected), claims


def verify_client_assertion(
    client: AssertingClient,
    assertion: str,
    audiences: tuple[str, ...],
    fetcher: KeySource,
    remember_jti: Callable[[str, str, int], bool],
    max_lifetime: int = MAX_LIFETIME,
    profile: str = "strict",
) -> None:
    """Raise ``OAuthError(invalid_client)`` unless ``assertion`` authenticates ``client``.

    ``max_lifetime`` (seconds) and ``profile`` come from the client's profile.

    ``remember_jti(client_id, jti, exp)`` is False when the jti was seen before (RFC 7523
    §3 (7): a jti is accepted once).
    """
    if len(assertion) > 8192:
        raise OAuthError("invalid_client", "client_assertion is too long")
    header = unverified_parts(assertion)[0]
    alg = header.get("alg")
    if alg not in ASSERTION_ALGORITHMS:
        raise OAuthError(
            "invalid_client",
            f"client_assertion alg must be one of {', '.join(ASSERTION_ALGORITHMS)}",
        )
    keys = _key_set(client, fetcher, header.get("kid"))
    try:
        token = jwt.decode(assertion, keys, algorithms=ASSERTION_ALGORITHMS)
    except (JoseError, ValueError):
        raise OAuthError("invalid_client", "client_assertion signature does not verify") from None
    claims = token.claims
    now = int(time.time())
    if claims.get("iss") != client.client_id or claims.get("sub") != client.client_id:
        raise OAuthError("invalid_client", "client_assertion iss and sub must be the client_id")
    aud = claims.get("aud")
    aud_list = aud if isinstance(aud, list) else [aud]
    if not any(a in audiences for a in aud_list):
        raise OAuthError(
            "invalid_client", "client_assertion aud must be the issuer or the token endpoint"
        )
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp + LEEWAY < now:
        raise OAuthError("invalid_client", "client_assertion has expired (exp)")
    if exp > now + max_lifetime + LEEWAY:  # issue 14 §1: the limit is the profile's
        raise OAuthError(
            "invalid_client",
            f"client_assertion exp is more than {max_lifetime // 60} minutes ahead, the "
            f"limit of this client's profile ({profile}); make assertions that live shorter",
        )
    nbf = claims.get("nbf")
    if isinstance(nbf, int) and nbf > now + LEEWAY:
        raise OAuthError("invalid_client", "client_assertion is not valid yet (nbf)")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise OAuthError("invalid_client", "client_assertion needs a jti")
    if not remember_jti(client.client_id, jti, exp):
        raise OAuthError("invalid_client", "client_assertion jti was used before")
