"""OpenID Connect Core §2 and §3.1.3.6: the ID token, signed with the client's algorithm.

``kid`` in the header (keys rotate; clients refetch the key set on an unknown kid);
``at_hash`` is the left half of the SHA-256 of the access token (all our algorithms use
SHA-256). ``id_token_hint`` (§3.1.2.1) is verified against every key we still store (a key
that left the published set after a rotation still verifies the hints it signed); an expired
hint is still a hint. A well-formed hint whose ``kid`` we no longer store is ``UnknownKeyError``:
the callers treat it as no hint (the pupil logged in before a rotation), never as an error.
"""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any, Protocol

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey
from joserfc.jws import JWSRegistry, extract_compact

__all__ = ["UnknownKeyError", "at_hash", "make_id_token", "read_id_token_hint"]

NOT_ID_TOKENS = frozenset(
    {"at+jwt", "application/at+jwt", "secevent+jwt", "application/secevent+jwt"}
)
"""RFC 9068 §4, RFC 8417 §2.3: an access token or a Security Event Token is never a hint."""


class UnknownKeyError(Exception):
    """A well-formed hint signed by a key (``kid``) we no longer store: treat as no hint."""


SIGNING_ALGORITHMS: dict[str, str] = {"RS256": "RSA", "PS256": "RSA", "ES256": "EC"}
"""The ID token algorithms a client may choose, and the key type each needs (allow-list)."""


class SigningKey(Protocol):
    """A private key and its kid (``leerid.idp.store.keys.SigningKey``)."""

    @property
    def kid(self) -> str: ...
    @property
    def key(self) -> RSAKey | ECKey: ...


class Keys(Protocol):
    """The provider's keys as the ID token rules need them (``KeyRing`` has these)."""

    def signing_key(self, alg: str) -> SigningKey: ...
    def jwks(self) -> dict[str, Any]: ...
    def hint_jwks(self) -> dict[str, Any]: ...


_SIGNING = {alg: JWSRegistry(algorithms=[alg]) for alg in SIGNING_ALGORITHMS}
"""One registry per algorithm, each allowing that algorithm alone (built once)."""


def at_hash(access_token: str) -> str:
    """OIDC Core §3.1.3.6: base64url of the left-most half of SHA-256(access_token)."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")


def make_id_token(
    keys: Keys,
    *,
    alg: str,
    issuer: str,
    client_id: str,
    claims: dict[str, object],
    auth_time: int,
    nonce: str | None,
    access_token: str,
    acr: str,
    sid: str | None,
    lifetime: int,
) -> str:
    """A signed ID token carrying the released ``claims`` (which include ``sub``)."""
    key = keys.signing_key(alg)
    now = int(time.time())
    payload: dict[str, Any] = {
        "iss": issuer,
        "sub": claims["sub"],
        "aud": client_id,
        "exp": now + lifetime,
        "iat": now,
        "auth_time": auth_time,
        "at_hash": at_hash(access_token),
        "acr": acr,
    }
    if nonce is not None:
        payload["nonce"] = nonce
    if sid is not None:
        payload["sid"] = sid
    for name, value in claims.items():
        payload.setdefault(name, value)
    return jwt.encode(
        {"alg": alg, "kid": key.kid, "typ": "JWT"}, payload, key.key, registry=_SIGNING[alg]
    )


def read_id_token_hint(keys: Keys, issuer: str, hint: str) -> dict[str, Any] | None:
    """The claims of an ID token we issued (expired or not), or None when it is not ours.

    Verified against every stored key (``Keys.hint_jwks``); ``UnknownKeyError`` when the hint
    is a well-formed JWS of our algorithms whose ``kid`` no key of ours has (any more)."""
    if len(hint) > 16384:
        return None
    try:
        header = extract_compact(hint.encode("ascii")).headers()
    except (JoseError, ValueError, UnicodeError):
        return None
    typ = header.get("typ")
    if isinstance(typ, str) and typ.lower() in NOT_ID_TOKENS:
        return None  # RFC 9068 §4 / RFC 8417 §2.3: an access token or SET, not an ID token
    kid = header.get("kid")
    if header.get("alg") not in SIGNING_ALGORITHMS or not isinstance(kid, str):
        return None
    jwks = keys.hint_jwks()
    if kid not in {key.get("kid") for key in jwks["keys"]}:
        raise UnknownKeyError(kid)
    key_set = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    try:
        token = jwt.decode(hint, key_set, algorithms=list(SIGNING_ALGORITHMS))
    except (JoseError, ValueError):
        return None
    claims = dict(token.claims)
    if claims.get("iss") != issuer or not isinstance(claims.get("sub"), str):
        return None
    return claims
