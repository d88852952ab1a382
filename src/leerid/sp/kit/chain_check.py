"""The privacy log's hash chain checked on every view of the DPO's pages, fast.

Art. 6 ("logbeheer van de privacylogs"): the DPO's privacy-log page verifies the chain each
time it is shown. A full verification (``privacy_log.verify``) of 100,000 entries takes about
two seconds (most of it recomputing the hashes), too slow for every view. So the first view
after a start, and any view once ``FULL_EVERY`` has passed, verifies the whole chain and
keeps the verified end (number, hash and the count of entries up to it); the views in between
check only what is new: the kept entry still has its hash, the count up to it did not change
(an entry removed), the new entries chain onto it and the head row matches. An entry altered
in place before the kept end is found by the next full verification (at most ``FULL_EVERY``
later); ``leerid sp log verify`` always checks the whole chain.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from leerid.duties.hash_chain import entry_problems
from leerid.sp.kit import privacy_log
from leerid.sp.kit.keys import ProviderSecrets
from leerid.sp.kit.models import PrivacyLogEntry, PrivacyLogHead
from leerid.store.engine import session_scope

FULL_EVERY = 600.0
"""Seconds between two full verifications while the pages are in use."""


@dataclass(frozen=True)
class Anchor:
    seq: int
    entry_hash: str
    count: int
    verified_at: float  # time.monotonic() of the full verification
    full_at: dt.datetime


@dataclass(frozen=True)
class ChainCheck:
    """What the page shows: the outcome and when the whole chain was last verified."""

    ok: bool
    entries: int
    head_hash: str
    problems: list[str]
    full_at: dt.datetime


_ANCHORS: dict[str, Anchor] = {}
_LOCK = threading.Lock()


def _full(engine: Engine, secrets: ProviderSecrets) -> ChainCheck:
    result = privacy_log.verify(engine, secrets)
    now = dt.datetime.now(dt.UTC)
    key = str(engine.url)
    with _LOCK:
        if result.ok:
            _ANCHORS[key] = Anchor(
                result.last_seq, result.head_hash, result.entries, time.monotonic(), now
            )
        else:
            _ANCHORS.pop(key, None)  # verify fully again next time
    return ChainCheck(result.ok, result.entries, result.head_hash, list(result.problems), now)


def _since(engine: Engine, anchor: Anchor) -> ChainCheck | None:
    """The chain from ``anchor`` on, or None when the log changed before it (a prune, a
    removal, an alteration of the kept entry): then the whole chain is verified again."""
    with session_scope(engine) as session:
        before = session.scalar(select(func.count()).where(PrivacyLogEntry.seq <= anchor.seq))
        kept = session.get(PrivacyLogEntry, anchor.seq) if anchor.seq else None
        if before != anchor.count or (kept and kept.entry_hash != anchor.entry_hash):
            return None
        prev, expected, count = anchor.entry_hash, anchor.seq + 1, anchor.count
        stmt = select(PrivacyLogEntry).where(PrivacyLogEntry.seq > anchor.seq)
        for entry in session.scalars(stmt.order_by(PrivacyLogEntry.seq)):
            if entry_problems(entry, expected, prev):
                return None  # the full verification names what is wrong
            prev, expected, count = entry.entry_hash, entry.seq + 1, count + 1
        head = session.get(PrivacyLogHead, 1)
        if head is None or head.seq != expected - 1 or head.entry_hash != prev:
            return None
    return ChainCheck(True, count, prev, [], anchor.full_at)


def check(engine: Engine, secrets: ProviderSecrets) -> ChainCheck:
    """Art. 6: the chain verified (in full at most ``FULL_EVERY`` ago, the rest since)."""
    with _LOCK:
        anchor = _ANCHORS.get(str(engine.url))
    if anchor is not None and time.monotonic() - anchor.verified_at < FULL_EVERY:
        found = _since(engine, anchor)
        if found is not None:
            return found
    return _full(engine, secrets)
