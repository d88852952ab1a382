"""RFC 8417: the Security Event Token (SET) DOV sends a service provider (issue 10, point 3).

A SET is a JWT (RFC 7519) signed with the provider's current RS256 key (the key set of the
ID tokens), header ``typ`` ``secevent+jwt`` (RFC 8417 §2.3). Claims (§2.2): ``iss`` the
issuer, ``aud`` the client id, ``iat``, ``jti`` (32 hex digits, unique per copy), ``txn`` (the
DOV change's id: the same in every client's copy, §2.2), ``toe`` (time of the change),
``sub_id`` for pupil events (RFC 9493 ``opaque``: the Leer_id_uuid, or the account uuid of a
pupil without one) and ``events`` with exactly one member (OpenID SSF §4.1 / RFC 8417
§2.2). The event type is ``urn:leerid:event:<kind>``, except DOV's retention, for which the
OpenID RISC profile has ``account-purged``. No name and no INSZ ever goes in a SET.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any, Protocol

from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey
from joserfc.jws import JWSRegistry

__all__ = [
    "EVENT_PREFIX",
    "PUPIL_KINDS",
    "RISC_ACCOUNT_PURGED",
    "SET_TYPE",
    "event_type",
    "new_jti",
    "set_claims",
    "sign_set",
]

SET_TYPE = "secevent+jwt"
EVENT_PREFIX = "urn:leerid:event:"
RISC_ACCOUNT_PURGED = "https://schemas.openid.net/secevent/risc/event-type/account-purged"
PUPIL_KINDS = frozenset(
    {"account-identified", "pupils-merged", "account-deleted", "account-purged", "quality-report"}
)
"""Kinds about one pupil: their SETs carry ``sub_id`` (RFC 9493)."""
_ALG = "RS256"
_REGISTRY = JWSRegistry(algorithms=[_ALG])


class SigningKey(Protocol):
    """A private key and its kid (``leerid.idp.store.keys.SigningKey``)."""

    @property
    def kid(self) -> str: ...
    @property
    def key(self) -> RSAKey | ECKey: ...


def event_type(kind: str) -> str:
    """The event type URI of a change kind (``leerid.registry.changes.ChangeKind`` value)."""
    return RISC_ACCOUNT_PURGED if kind == "account-purged" else f"{EVENT_PREFIX}{kind}"


def new_jti() -> str:
    """RFC 8417 §2.2: a unique identifier of one copy of a SET (128 random bits, hex)."""
    return secrets.token_hex(16)


def set_claims(
    *,
    issuer: str,
    client_id: str,
    jti: str,
    txn: int,
    toe: int,
    iat: int,
    kind: str,
    event: Mapping[str, Any],
    subject: str | None,
) -> dict[str, Any]:
    """The claims of one SET for ``client_id`` (``subject``: the pupil's key, or None)."""
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": client_id,
        "iat": iat,
        "jti": jti,
        "txn": str(txn),
        "toe": toe,
        "events": {event_type(kind): dict(event)},
    }
    if subject is not None and kind in PUPIL_KINDS:
        claims["sub_id"] = {"format": "opaque", "id": subject}  # RFC 9493 §3.2.4
    return claims


def sign_set(key: SigningKey, claims: Mapping[str, Any]) -> str:
    """The compact JWS of a SET (RFC 8417 §2.3: ``typ`` secevent+jwt, RS256, ``kid``)."""
    header = {"alg": _ALG, "kid": key.kid, "typ": SET_TYPE}
    return jwt.encode(header, dict(claims), key.key, registry=_REGISTRY)
