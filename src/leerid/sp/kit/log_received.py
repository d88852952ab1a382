"""What the kit received from DOV, and whether DOV's log entry says the same (pure).

Issue 12 §3: "For each disclosure it received the kit asks an inclusion proof and keeps
it." DOV names the leaf hash (RFC 9162 §2.1.1) of the entry that records each disclosure:
the token response member ``leerid_log_leaf`` and the userinfo header ``LeerID-Log-Leaf``
(base64url). The kit keeps that hash with what it saw itself (endpoint, claim names, time)
and, once DOV proves the entry is in the log, compares the entry with it: our client id,
the protocol we are bound to (its id, and the content hash of a version both parties signed,
art. 11), the same endpoint and claim names, the outcome ``released``, a time within a few
minutes. The entry's pupil pseudonym is not compared (DOV may make it differ per entry).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from leerid.transparency.entries import LogEntry
from leerid.transparency.rfc9162 import HASH_SIZE

__all__ = [
    "LEAF_HEADER",
    "LEAF_MEMBER",
    "OIDC_MEMBERS",
    "TIME_SLACK",
    "Binding",
    "Received",
    "differences",
    "leaf_text",
    "received_id_token",
    "received_userinfo",
]

LEAF_MEMBER = "leerid_log_leaf"
"""The token response member naming the leaf hash of the disclosure's entry."""
LEAF_HEADER = "LeerID-Log-Leaf"
"""The userinfo response header naming the leaf hash of the disclosure's entry."""
TIME_SLACK = dt.timedelta(minutes=5)
"""How far DOV's time of an entry may lie from the moment the kit received the answer."""
OIDC_MEMBERS = frozenset(
    {"iss", "aud", "exp", "iat", "nbf", "jti", "auth_time", "nonce", "acr", "amr", "azp"}
    | {"at_hash", "c_hash", "sid"}
)
"""OIDC Core §2: an ID token's members about the token itself, not released data; the
disclosure entry names the released claims only (``sub`` among them)."""


def leaf_text(value: Any) -> str | None:
    """``value`` when it is a leaf hash in base64url without padding (32 bytes), else None:
    a malformed hash counts as none (the disclosure then lacks its entry)."""
    if not isinstance(value, str) or len(value) != 43:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=")
    except (binascii.Error, ValueError):
        return None
    if len(raw) != HASH_SIZE or base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != value:
        return None
    return value


@dataclass(frozen=True)
class Received:
    """One disclosure as the kit received it: where, which claim names, when, and the leaf
    hash DOV named for it (None when DOV named none)."""

    endpoint: str
    claims: tuple[str, ...]
    at: dt.datetime
    leaf_hash: str | None


def received_id_token(claims: Mapping[str, Any], leaf: Any, at: dt.datetime) -> Received:
    """The disclosure of the token endpoint: the ID token's claims without its OIDC members."""
    names = sorted(name for name in claims if name not in OIDC_MEMBERS)
    return Received("token", tuple(names), at, leaf_text(leaf))


def received_userinfo(claims: Mapping[str, Any], leaf: Any, at: dt.datetime) -> Received:
    """The disclosure of the userinfo endpoint: every claim of its answer."""
    return Received("userinfo", tuple(sorted(claims)), at, leaf_text(leaf))


@dataclass(frozen=True)
class Binding:
    """What DOV must name in our entries (art. 11): our client id, the protocol we are bound
    to, and the content hashes (SHA-256, hex) of its versions both parties signed."""

    client_id: str
    protocol_id: str
    protocol_hashes: Collection[str]


def _names(values: Iterable[Any]) -> list[str]:
    return sorted(str(v) for v in values)


def _protocol(fields: Mapping[str, Any], binding: Binding) -> list[str]:
    """Art. 11: the entry names our protocol and a version of it both parties signed."""
    found = []
    if fields.get("protocol") != binding.protocol_id:
        found.append(
            f"protocol {fields.get('protocol')!r}, we are bound to {binding.protocol_id!r}"
        )
    if fields.get("protocol_hash") not in binding.protocol_hashes:
        found.append(
            f"protocol_hash {fields.get('protocol_hash')!r} is no version of "
            f"{binding.protocol_id!r} both parties signed that we hold"
        )
    return found


def differences(entry: LogEntry, received: Received, binding: Binding) -> list[str]:
    """How DOV's entry differs from what we received (empty: it records our disclosure)."""
    if entry.kind != "disclosure":
        return [f"the entry is a {entry.kind!r} entry, not a disclosure"]
    fields = entry.fields
    found = []
    if fields.get("client") != binding.client_id:
        found.append(f"client {fields.get('client')!r}, we are {binding.client_id!r}")
    found += _protocol(fields, binding)
    if fields.get("endpoint") != received.endpoint:
        found.append(f"endpoint {fields.get('endpoint')!r}, we used {received.endpoint!r}")
    if fields.get("outcome") != "released":
        found.append(f"outcome {fields.get('outcome')!r}, we received data (released)")
    logged = _names(fields.get("claims") or [])
    if logged != list(received.claims):
        found.append(f"claims {logged}, we received {list(received.claims)}")
    gap = abs(entry.at - received.at)
    if gap > TIME_SLACK:
        found.append(
            f"time {entry.at.isoformat()}, we received it at {received.at.isoformat()} "
            f"({int(gap.total_seconds())} s apart; at most {int(TIME_SLACK.total_seconds())})"
        )
    return found
