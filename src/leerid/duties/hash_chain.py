"""Art. 6: the hash chain of a staff privacy log, the same at DOV and at the recipient.

An entry holds who, when, what, which pupil key and why, and a JSON detail that never holds
names, INSZ or tokens. ``entry_hash = SHA-256(prev_hash | canonical entry)``; the first entry
chains to ``GENESIS``. A removed, altered or inserted entry breaks every hash after it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any, Protocol

__all__ = [
    "GENESIS",
    "ChainedEntry",
    "canonical",
    "entry_body",
    "entry_hash",
    "entry_problems",
    "iso",
]

GENESIS = "0" * 64


def iso(moment: dt.datetime) -> str:
    """A moment as the chain writes it: UTC, ISO 8601, microseconds."""
    if moment.tzinfo is None:  # SQLite returns naive values for aware columns
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def canonical(data: Mapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(
    prev_hash: str,
    seq: int,
    at: dt.datetime | str,
    actor: str,
    action: str,
    pupil_key: str | None,
    purpose: str,
    detail: str,
) -> str:
    """The chained hash of one entry: SHA-256 of ``prev_hash|`` and the entry's canonical
    JSON (``canonical`` of its seven fields); ``at`` as a moment or its ``iso`` text."""
    moment = at if isinstance(at, str) else iso(at)
    body = entry_body(seq, moment, actor, action, pupil_key, purpose, detail)
    return hashlib.sha256(f"{prev_hash}|{body}".encode()).hexdigest()


_text = json.encoder.encode_basestring  # a str as JSON, as json.dumps(ensure_ascii=False)


def entry_body(
    seq: int, at: str, actor: str, action: str, pupil_key: str | None, purpose: str, detail: str
) -> str:
    """``canonical`` of an entry's fields, written out in its key order: the same text, with
    no dict to build and sort per entry (a batch of events chains hundreds)."""
    key = "null" if pupil_key is None else _text(pupil_key)
    return (
        f'{{"action":{_text(action)},"actor":{_text(actor)},"at":{_text(at)},'
        f'"detail":{_text(detail)},"pupil_key":{key},"purpose":{_text(purpose)},"seq":{seq:d}}}'
    )


class ChainedEntry(Protocol):
    """What a stored entry of a staff privacy log holds (either party's table)."""

    @property
    def seq(self) -> int: ...
    @property
    def at(self) -> dt.datetime: ...
    @property
    def actor(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def pupil_key(self) -> str | None: ...
    @property
    def purpose(self) -> str: ...
    @property
    def detail(self) -> str: ...
    @property
    def prev_hash(self) -> str: ...
    @property
    def entry_hash(self) -> str: ...


def entry_problems(entry: ChainedEntry, expected_seq: int, expected_prev: str) -> list[str]:
    """Art. 6: what is wrong with ``entry`` where the chain expects number ``expected_seq``
    after the hash ``expected_prev``: a gap, a broken link, an altered entry (empty: none)."""
    problems = []
    if entry.seq != expected_seq:
        problems.append(
            f"entry {expected_seq} is missing (next entry present is {entry.seq})"
            if entry.seq > expected_seq
            else f"entry {entry.seq} appears out of order"
        )
    if entry.prev_hash != expected_prev:
        problems.append(f"entry {entry.seq} does not chain to the entry before")
    digest = entry_hash(
        entry.prev_hash,
        entry.seq,
        entry.at,
        entry.actor,
        entry.action,
        entry.pupil_key,
        entry.purpose,
        entry.detail,
    )
    if digest != entry.entry_hash:
        problems.append(f"entry {entry.seq} was altered (hash mismatch)")
    return problems
