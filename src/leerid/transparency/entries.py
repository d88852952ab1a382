"""The entries of the transparency log: what was disclosed, never to whom by name.

Issue 12, point 1: an entry holds no personal data. It says when, to which client, under
which protocol (id and content hash), which claim *names*, the outcome, and the pupil as a
keyed pseudonym (HMAC-SHA-256 with a secret only DOV holds) of the entry's own random id
and the pupil's identifier: a pupil's pseudonym differs from entry to entry, so that only
DOV, or the pupil through DOV, can find a pupil's entries (``entry_concerns``), and a
recipient that learns its pupil's pseudonym from its own entry cannot find that pupil's
other entries. Protocol versions, signatures, endings and the
events DOV sends its recipients are entries too.

An entry is canonical JSON (keys sorted, no spaces, ASCII only, UTF-8): one meaning has one
byte string, so its RFC 9162 leaf hash is fixed. ``decode_entry`` accepts only that form.
The format is documented in docs/transparency-log.md ("Entries").
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from leerid.errors import LeeridError
from leerid.insz_text import looks_like_insz
from leerid.transparency.rfc9162 import leaf_hash

__all__ = [
    "FORMAT_VERSION",
    "KINDS",
    "EntryError",
    "LogEntry",
    "decode_entry",
    "disclosure_entry",
    "entry_concerns",
    "event_entry",
    "protocol_entry",
    "pupil_pseudonym",
]

FORMAT_VERSION = 1
MAX_ENTRY_SIZE = 65535
"""C2SP tlog-tiles entry bundles prefix each entry with a 16-bit length."""

_TEXT = (str,)
_OPTIONAL_TEXT = (str, type(None))
_NAMES = (list,)
KINDS: dict[str, dict[str, tuple[type, ...]]] = {
    "disclosure": {
        "client": _TEXT,
        "endpoint": _TEXT,
        "protocol": _OPTIONAL_TEXT,
        "protocol_hash": _OPTIONAL_TEXT,
        "claims": _NAMES,
        "outcome": _TEXT,
        "reason": _OPTIONAL_TEXT,
        "pupil": _OPTIONAL_TEXT,
    },
    "protocol_version": {"protocol": _TEXT, "protocol_hash": _TEXT, "version": (int,)},
    "protocol_signature": {
        "protocol": _TEXT,
        "protocol_hash": _TEXT,
        "party": _TEXT,
        "method": _TEXT,
        "key": _OPTIONAL_TEXT,
    },
    "protocol_ending": {"protocol": _TEXT, "cause": _TEXT, "effective": _TEXT},
    "event": {
        "client": _TEXT,
        "event": _TEXT,
        "jti": _TEXT,
        "protocol": _OPTIONAL_TEXT,
        "pupils": _NAMES,
    },
}
"""Each kind's own fields and their JSON types (besides ``v``, ``kind``, ``id``, ``at``)."""

_KEYS = frozenset({"client", "jti", "key", "protocol_hash", "pupil", "pupils"})
"""Fields of random ids, hashes and pseudonyms: a run of 11 digits there is chance (a hex
``jti`` has one in a few percent), not an INSZ; refusing it would refuse the disclosure."""
_PSEUDONYM_LABEL = b"leerid-tlog-pupil/v2\n"
_SAFE_TEXT = re.compile(r"[\x20-\x7e]{0,300}")


class EntryError(LeeridError):
    """A log entry that is not in the documented form."""


def pupil_pseudonym(secret: bytes, entry_id: str, identifier: str) -> str:
    """Issue 12 §1: the pupil of one entry as a keyed pseudonym, base64url of
    HMAC-SHA-256(secret, "leerid-tlog-pupil/v2\\n" ‖ entry id ‖ "\\n" ‖ identifier), the
    identifier an account_uuid or a Leer_id_uuid. The entry's random id makes it differ
    from entry to entry: without the secret two entries of one pupil cannot be linked."""
    message = _PSEUDONYM_LABEL + entry_id.encode() + b"\n" + identifier.encode()
    mac = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def _pseudonyms(secret: bytes | None, entry_id: str, identifiers: Iterable[str]) -> list[str]:
    """The pseudonyms of ``identifiers`` in the entry ``entry_id``, sorted, each once."""
    named = sorted(set(identifiers))
    if named and secret is None:
        raise EntryError("an entry that names a pupil needs the pseudonym secret")
    return sorted({pupil_pseudonym(secret or b"", entry_id, name) for name in named})


def entry_concerns(secret: bytes, entry: LogEntry, identifiers: Iterable[str]) -> bool:
    """Whether ``entry`` names a pupil known by one of ``identifiers`` (account_uuids,
    Leer_id_uuids): its ``pupil`` or one of its ``pupils`` is that identifier's pseudonym
    in this entry. Only who holds ``secret`` (DOV) can tell."""
    named = entry.fields.get("pupils") or [entry.fields.get("pupil")]
    stored = {str(p) for p in named if isinstance(p, str)}
    return any(
        hmac.compare_digest(pupil_pseudonym(secret, entry.id, identifier), pseudonym)
        for identifier in identifiers
        for pseudonym in stored
    )


def _moment(at: dt.datetime) -> str:
    """UTC with microseconds and a ``Z``: one text per moment."""
    if at.tzinfo is None:
        raise EntryError("an entry's time must be timezone-aware")
    # isoformat is C; strftime with %f cost 1.5 % of a provider worker's CPU (issue 15)
    return at.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _new_id() -> str:
    """128 random bits, base64url: no two entries have the same bytes (or leaf hash)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode()


@dataclass(frozen=True)
class LogEntry:
    """One entry: its kind, moment, random id and the kind's own fields."""

    kind: str
    at: dt.datetime
    fields: Mapping[str, Any]
    id: str = field(default_factory=_new_id)

    def document(self) -> dict[str, Any]:
        """The entry as the JSON object it is encoded as."""
        return {
            **self.fields,
            "v": FORMAT_VERSION,
            "kind": self.kind,
            "id": self.id,
            "at": _moment(self.at),
        }

    def encode(self) -> bytes:
        """The canonical bytes (what the leaf hash is taken of)."""
        document = self.document()
        text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        data = text.encode()
        _check(document, len(data))
        return data

    def leaf_hash(self) -> bytes:
        """RFC 9162 §2.1.1: SHA-256(0x00 ‖ entry)."""
        return leaf_hash(self.encode())


def disclosure_entry(
    *,
    at: dt.datetime,
    client_id: str,
    endpoint: str,
    protocol_id: str | None,
    protocol_hash: str | None,
    claims: Iterable[str],
    outcome: str,
    reason: str | None,
    pupil_secret: bytes | None = None,
    pupil_identifier: str | None = None,
) -> LogEntry:
    """Issue 12 §1: a release or refusal of a pupil's data; claim names only, the pupil
    (``pupil_identifier``, when known) as this entry's pseudonym keyed with
    ``pupil_secret`` (``pupil_pseudonym``), never a value."""
    entry_id = _new_id()
    named = _pseudonyms(
        pupil_secret, entry_id, [] if pupil_identifier is None else [pupil_identifier]
    )
    return LogEntry(
        kind="disclosure",
        at=at,
        id=entry_id,
        fields={
            "client": client_id,
            "endpoint": endpoint,
            "protocol": protocol_id,
            "protocol_hash": protocol_hash,
            "claims": sorted(set(claims)),
            "outcome": outcome,
            "reason": reason,
            "pupil": named[0] if named else None,
        },
    )


def protocol_entry(kind: str, *, at: dt.datetime, **fields: Any) -> LogEntry:
    """A protocol version, signature or ending (art. 8, art. 11) as an entry."""
    if not kind.startswith("protocol_") or kind not in KINDS:
        raise EntryError(f"{kind!r} is not a protocol entry kind")
    return LogEntry(kind=kind, at=at, fields=fields)


def event_entry(
    *,
    at: dt.datetime,
    client_id: str,
    event: str,
    jti: str,
    protocol_id: str | None,
    pupil_secret: bytes | None = None,
    pupil_identifiers: Iterable[str] = (),
) -> LogEntry:
    """An event DOV sent a recipient (a merge, identification, deletion, ending): its type,
    its ``jti`` and the pupils it names (``pupil_identifiers``), as this entry's
    pseudonyms keyed with ``pupil_secret``."""
    entry_id = _new_id()
    return LogEntry(
        kind="event",
        at=at,
        id=entry_id,
        fields={
            "client": client_id,
            "event": event,
            "jti": jti,
            "protocol": protocol_id,
            "pupils": _pseudonyms(pupil_secret, entry_id, pupil_identifiers),
        },
    )


def _check(document: Mapping[str, Any], size: int) -> None:
    """The documented form: known kind, its fields with their types, printable ASCII text
    without an INSZ (issue 12 §1: no personal data), at most 64 KiB."""
    if size > MAX_ENTRY_SIZE:
        raise EntryError(f"an entry is at most {MAX_ENTRY_SIZE} bytes; this one is {size}")
    kind = document.get("kind")
    if kind not in KINDS:
        raise EntryError(f"unknown entry kind {kind!r}; known: {', '.join(sorted(KINDS))}")
    expected = KINDS[str(kind)]
    names = set(document) - {"v", "kind", "id", "at"}
    if names != set(expected):
        missing = sorted(set(expected) - names)
        extra = sorted(names - set(expected))
        raise EntryError(f"{kind} entry: missing fields {missing}, unknown fields {extra}")
    for name, types in expected.items():
        value = document[name]
        if type(value) not in types:  # bool is not an int here
            raise EntryError(f"{kind} entry: field {name!r} has the wrong type")
        texts = value if isinstance(value, list) else [value]
        for text in texts:
            if isinstance(value, list) and not isinstance(text, str):
                raise EntryError(f"{kind} entry: field {name!r} holds a non-text item")
            insz = isinstance(text, str) and name not in _KEYS and looks_like_insz(text)
            if isinstance(text, str) and (not _SAFE_TEXT.fullmatch(text) or insz):
                raise EntryError(
                    f"{kind} entry: field {name!r} must be printable ASCII of at most 300 "
                    "characters and hold no INSZ"
                )


def decode_entry(data: bytes) -> LogEntry:
    """The entry in ``data``; ``EntryError`` saying what is wrong unless it is canonical."""
    try:
        document = json.loads(data.decode("ascii"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise EntryError(f"an entry is ASCII JSON: {exc}") from None
    if not isinstance(document, dict):
        raise EntryError("an entry is a JSON object")
    if document.get("v") != FORMAT_VERSION:
        raise EntryError(f"entry format version {document.get('v')!r}; this leerid reads 1")
    at_text, entry_id = document.get("at"), document.get("id")
    if not isinstance(at_text, str) or not isinstance(entry_id, str):
        raise EntryError("an entry has an 'at' and an 'id' text")
    try:
        at = dt.datetime.strptime(at_text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
    except ValueError:
        raise EntryError(f"entry time {at_text!r} is not YYYY-MM-DDTHH:MM:SS.ffffffZ") from None
    _check(document, len(data))
    own = {k: v for k, v in document.items() if k not in {"v", "kind", "id", "at"}}
    entry = LogEntry(kind=str(document["kind"]), at=at, fields=own, id=entry_id)
    if entry.encode() != data:
        raise EntryError("the entry is not in canonical form (sorted keys, no spaces, ASCII)")
    return entry
