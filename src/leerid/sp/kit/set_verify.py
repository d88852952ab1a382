"""Verifying one Security Event Token from the Department (RFC 8417), before anything applies it.

Pure: no database, no HTTP. The checks, in order (the first that fails names the RFC 8935
error code the recipient returns in ``setErrs``):

1. the JOSE header: ``alg`` in the allow-list (RS256, ES256; never ``none``, never HMAC)
   → ``invalid_key``; ``typ`` is ``secevent+jwt`` (RFC 8417 §2.3) → ``invalid_request``;
2. the signature against the issuer's key set (an unknown ``kid`` raises
   :class:`UnknownKey`, so the caller refetches the key set once) → ``invalid_key``;
3. ``iss`` is the configured issuer → ``invalid_issuer``;
4. ``aud`` is (or contains) this client's id → ``invalid_audience``;
5. ``iat`` not more than 60 s in the future, not older than the max age; ``jti`` and ``txn``
   present; ``events`` has exactly one member, of a known type → ``invalid_request``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from joserfc import jws
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import KeySet

ALLOWED_ALGS = ("RS256", "ES256")
SET_TYP = "secevent+jwt"  # RFC 8417 §2.3
SKEW = 60  # seconds an iat may lie in the future (clocks differ)

URN = "urn:leerid:event:"
PROTOCOL_VERSION_IN_FORCE = URN + "protocol-version-in-force"
PROTOCOL_ENDED = URN + "protocol-ended"
ACCOUNT_IDENTIFIED = URN + "account-identified"
PUPILS_MERGED = URN + "pupils-merged"
ACCOUNT_DELETED = URN + "account-deleted"
ACCOUNT_PURGED = "https://schemas.openid.net/secevent/risc/event-type/account-purged"
QUALITY_REPORT = URN + "quality-report"
QUALITY_REPORT_STATUS = URN + "quality-report-status"
PROCESSOR_LIST_REQUESTED = URN + "processor-list-requested"
NOTICE_ACKNOWLEDGED = URN + "notice-acknowledged"

EVENT_TYPES = frozenset(
    {
        PROTOCOL_VERSION_IN_FORCE,
        PROTOCOL_ENDED,
        ACCOUNT_IDENTIFIED,
        PUPILS_MERGED,
        ACCOUNT_DELETED,
        ACCOUNT_PURGED,
        QUALITY_REPORT,
        QUALITY_REPORT_STATUS,
        PROCESSOR_LIST_REQUESTED,
        NOTICE_ACKNOWLEDGED,
    }
)
"""The event types of the contract (issue 10 point 3); any other is refused."""


class SetRejected(Exception):  # noqa: N818 (a verdict, reported to the sender in setErrs)
    """The SET failed a check: ``err`` is the RFC 8935 §2.4 code, ``description`` why."""

    def __init__(self, err: str, description: str) -> None:
        super().__init__(f"{err}: {description}")
        self.err = err
        self.description = description


class UnknownKey(SetRejected):
    """The ``kid`` is not in the key set: refetch it once (keys rotate), then reject."""

    def __init__(self, kid: str | None) -> None:
        super().__init__("invalid_key", f"no key {kid!r} in the issuer's key set")


@dataclass(frozen=True)
class Expected:
    """What a SET for this recipient must say."""

    issuer: str
    client_id: str
    now: dt.datetime
    max_age: dt.timedelta


@dataclass(frozen=True)
class VerifiedSet:
    """A SET that passed every check: its claims and its one event."""

    jti: str
    txn: str
    event_type: str
    event: Mapping[str, Any]
    claims: Mapping[str, Any]


_REGISTRY = jws.JWSRegistry(algorithms=list(ALLOWED_ALGS))
"""joserfc's registry of the allowed algorithms, built once (per call it cost a few µs)."""


def verify_set(token: str, keys: KeySet, expected: Expected) -> VerifiedSet:
    """Every check of the module's docstring, in that order; :class:`SetRejected` otherwise.
    The compact JWS is taken apart once (joserfc's ``extract_compact``), its header checked,
    then its signature (``validate_compact``)."""
    try:
        compact = jws.extract_compact(token.encode("ascii"), registry=_REGISTRY)
        header = compact.headers()
    except (JoseError, ValueError, UnicodeError, TypeError):
        raise SetRejected("invalid_request", "the SET is not a compact JWS") from None
    if header.get("alg") not in ALLOWED_ALGS:
        raise SetRejected("invalid_key", f"algorithm {header.get('alg')!r} is not accepted")
    if header.get("typ") != SET_TYP:
        raise SetRejected("invalid_request", f"typ must be {SET_TYP!r} (RFC 8417 section 2.3)")
    kid = header.get("kid")
    if kid is not None and not any(k.kid == kid for k in keys.keys):
        raise UnknownKey(kid)
    try:
        if not jws.validate_compact(compact, keys, registry=_REGISTRY):
            raise BadSignatureError()
        claims = json.loads(compact.payload)
    except BadSignatureError:
        raise SetRejected("invalid_key", "the signature does not verify") from None
    except (JoseError, ValueError):
        raise SetRejected("invalid_key", "the signature cannot be checked") from None
    if not isinstance(claims, dict):
        raise SetRejected("invalid_request", "the SET's payload is not a JSON object")
    return check_claims(claims, expected)


def check_claims(claims: Mapping[str, Any], expected: Expected) -> VerifiedSet:
    """Steps 3 to 5 on verified claims (RFC 8417 §2.2 and the contract of issue 10)."""
    if claims.get("iss") != expected.issuer:
        raise SetRejected("invalid_issuer", "the SET comes from another issuer")
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if expected.client_id not in audiences:
        raise SetRejected("invalid_audience", "the SET is meant for another recipient")
    check_fresh(claims.get("iat"), expected.now, expected.max_age)
    jti, txn = claims.get("jti"), claims.get("txn")
    if not isinstance(jti, str) or not 0 < len(jti) <= 64:
        raise SetRejected("invalid_request", "jti is missing or longer than 64 characters")
    if not isinstance(txn, str) or not 0 < len(txn) <= 40:
        raise SetRejected("invalid_request", "txn is missing or longer than 40 characters")
    events = claims.get("events")
    if not isinstance(events, dict) or len(events) != 1:
        raise SetRejected("invalid_request", "events must hold exactly one event")
    ((event_type, event),) = events.items()
    if event_type not in EVENT_TYPES:
        raise SetRejected("invalid_request", f"unknown event type {event_type!r}")
    if not isinstance(event, dict):
        raise SetRejected("invalid_request", "the event is not a JSON object")
    return VerifiedSet(jti, txn, event_type, event, claims)


def check_fresh(iat: Any, now: dt.datetime, max_age: dt.timedelta) -> None:
    """``iat`` at most 60 s ahead of ``now`` and no older than ``max_age`` (the Department
    keeps an unacknowledged SET that long; an older one is stale or replayed)."""
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        raise SetRejected("invalid_request", "iat is missing or not a number")
    stamp = now.timestamp()
    if iat > stamp + SKEW:
        raise SetRejected("invalid_request", "iat lies in the future")
    if iat < stamp - max_age.total_seconds():
        raise SetRejected("invalid_request", "the SET is older than the accepted age")
