"""The privacy log (art. 6): append-only, each entry chained to the previous one by a hash.

An entry holds who, when, what, which pupil key and why, and a JSON detail that never holds
names, INSZ or tokens. ``entry_hash = SHA-256(prev_hash | canonical entry)``; the head row
holds the newest number and hash, so a removed, altered or inserted entry (also the last one)
breaks verification. Pruning removes the oldest stretch in batches and leaves a signed record
of what went, so the chain can start again from a verified anchor.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Engine, Table, delete, func, select
from sqlalchemy.orm import Session

from leerid.duties.hash_chain import GENESIS, canonical, entry_hash, entry_problems, iso
from leerid.sp.kit.keys import ProviderSecrets
from leerid.sp.kit.models import LogPruneRecord, PrivacyLogEntry, PrivacyLogHead
from leerid.store import bulk
from leerid.store.engine import session_scope

_ENTRIES = cast(Table, PrivacyLogEntry.__table__)
BATCH = 1000


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def detail_of(text: str) -> dict[str, Any]:
    """An entry's detail as a dict (empty when it is no JSON object)."""
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def hash_key(key: str) -> str:
    """A pupil key as it appears in a deletion receipt: SHA-256, so the key itself is gone."""
    return hashlib.sha256(key.encode()).hexdigest()


PSEUDONYM_CONTEXT = b"leerid.sp.privacylog-pseudonym.v1"
PSEUDONYM_HEX = 16


def pseudonym(secrets: ProviderSecrets, key: str) -> str:
    """Art. 4 (the DPO is no recipient of the data): a pupil key as the DPO sees it, a keyed
    HMAC-SHA-256 (its key derived from the provider's secret), 16 hex digits: stable, so one
    pupil can be followed across entries, and not reversible without the secret."""
    derived = hmac.new(secrets.session_key, PSEUDONYM_CONTEXT, hashlib.sha256).digest()
    return hmac.new(derived, key.lower().encode(), hashlib.sha256).hexdigest()[:PSEUDONYM_HEX]


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    purpose: str,
    pupil_key: str | None = None,
    detail: Mapping[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> PrivacyLogEntry:
    """Art. 6: add one entry inside the caller's transaction (the head row is locked at the
    first entry of the transaction; the entries are written together at its next flush)."""
    head = _locked_head(session)
    at = at or _now()
    seq = head.seq + 1
    text = canonical(dict(detail or {}))
    digest = entry_hash(head.entry_hash, seq, at, actor, action, pupil_key, purpose, text)
    entry = PrivacyLogEntry(
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        pupil_key=pupil_key,
        purpose=purpose,
        detail=text,
        prev_hash=head.entry_hash,
        entry_hash=digest,
    )
    session.add(entry)
    head.seq = seq
    head.entry_hash = digest
    return entry


def append_many(session: Session, entries: Sequence[Mapping[str, Any]]) -> None:
    """Art. 6: ``append`` for many entries (each a dict of ``append``'s keyword arguments),
    chained in their order and written with one statement (a batch of events)."""
    if not entries:
        return
    head = _locked_head(session)
    at = _now()
    at_text = iso(at)  # one moment for the batch
    seq, prev = head.seq, head.entry_hash
    rows: list[dict[str, Any]] = []
    for entry in entries:
        seq += 1
        text = canonical(dict(entry.get("detail") or {}))
        actor, action, purpose = entry["actor"], entry["action"], entry["purpose"]
        pupil_key = entry.get("pupil_key")
        digest = entry_hash(prev, seq, at_text, actor, action, pupil_key, purpose, text)
        rows.append(
            {
                "seq": seq,
                "at": at,
                "actor": actor,
                "action": action,
                "pupil_key": pupil_key,
                "purpose": purpose,
                "detail": text,
                "prev_hash": prev,
                "entry_hash": digest,
            }
        )
        prev = digest
    bulk.insert_rows(session, _ENTRIES, rows)  # Core: one statement, no ORM bookkeeping
    head.seq, head.entry_hash = seq, prev


_HEAD = "leerid.privacy_log.head"


def _locked_head(session: Session) -> PrivacyLogHead:
    """The head row, locked once per transaction (``FOR UPDATE``) and then kept: one read
    instead of one per entry when a batch of events writes many entries."""
    transaction = session.get_transaction()
    kept = session.info.get(_HEAD)
    if kept is not None and kept[0] is transaction and kept[1] in session:
        return cast(PrivacyLogHead, kept[1])
    head = session.get(PrivacyLogHead, 1, with_for_update=True)
    if head is None:  # pragma: no cover - the migration seeds it
        head = PrivacyLogHead(id=1, seq=0, entry_hash=GENESIS)
        session.add(head)
    session.info[_HEAD] = (transaction, head)
    return head


def record(engine: Engine, **kwargs: Any) -> PrivacyLogEntry:
    """Append one entry in a transaction of its own."""
    with session_scope(engine) as session:
        return append(session, **kwargs)


def _prune_message(first: int, last: int, count: int, last_hash: str, at: dt.datetime) -> bytes:
    return canonical(
        {
            "first_seq": first,
            "last_seq": last,
            "count": count,
            "last_hash": last_hash,
            "at": iso(at),
        }
    ).encode()


@dataclass
class Verification:
    """The outcome of ``leerid sp log verify``."""

    entries: int = 0
    first_seq: int | None = None
    last_seq: int = 0
    head_hash: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(engine: Engine, secrets: ProviderSecrets) -> Verification:
    """Art. 6: recompute the chain from its anchor; name every entry that does not fit."""
    result = Verification()
    with session_scope(engine) as session:
        head = session.get(PrivacyLogHead, 1)
        prune = session.scalars(
            select(LogPruneRecord).order_by(LogPruneRecord.last_seq.desc()).limit(1)
        ).first()
        expected_seq, expected_prev = 1, GENESIS
        if prune is not None:
            message = _prune_message(
                prune.first_seq, prune.last_seq, prune.count, prune.last_hash, prune.at
            )
            if not secrets.verify(message, prune.signature):
                result.problems.append(
                    f"prune record {prune.id} (entries {prune.first_seq}-{prune.last_seq}) "
                    "has an invalid signature"
                )
            expected_seq, expected_prev = prune.last_seq + 1, prune.last_hash
        last_seq = 0
        c = _ENTRIES.c  # plain rows, not ORM objects: loading those took half the time
        stmt = select(
            c.seq, c.at, c.actor, c.action, c.pupil_key, c.purpose, c.detail, c.prev_hash,
            c.entry_hash,
        ).order_by(c.seq)  # fmt: skip
        for entry in session.execute(stmt.execution_options(yield_per=BATCH)):
            if result.first_seq is None:
                result.first_seq = entry.seq
            result.problems += entry_problems(entry, expected_seq, expected_prev)
            result.entries += 1
            expected_seq, expected_prev = entry.seq + 1, entry.entry_hash
            last_seq = entry.seq
        result.last_seq = last_seq
        result.head_hash = expected_prev
        if head is None:
            result.problems.append("the log head is missing")
        elif head.seq != expected_seq - 1 or head.entry_hash != expected_prev:
            result.problems.append(
                f"the log ends at entry {expected_seq - 1} but its head records entry "
                f"{head.seq}: the newest entries were removed or altered"
            )
    return result


@dataclass(frozen=True)
class PruneResult:
    batches: int
    count: int


def prune(
    engine: Engine, secrets: ProviderSecrets, older_than: dt.datetime, *, dry_run: bool = False
) -> PruneResult:
    """Art. 6: remove entries older than ``older_than``, ≤ 1000 per transaction, each batch
    leaving a signed record (first, last, count, hash of the last pruned entry)."""
    batches = total = 0
    while True:
        with session_scope(engine) as session:
            rows = session.execute(
                select(PrivacyLogEntry.seq, PrivacyLogEntry.entry_hash, PrivacyLogEntry.at)
                .order_by(PrivacyLogEntry.seq)
                .limit(BATCH)
            ).all()
            # only the oldest contiguous stretch older than the cut-off
            stretch = []
            for seq, digest, at in rows:
                if (at if at.tzinfo else at.replace(tzinfo=dt.UTC)) >= older_than:
                    break
                stretch.append((seq, digest))
            if not stretch:
                break
            if dry_run:
                total += (
                    session.scalar(
                        select(func.count())
                        .select_from(PrivacyLogEntry)
                        .where(PrivacyLogEntry.at < older_than)
                    )
                    or 0
                )
                return PruneResult(batches=0, count=total)
            first, last = stretch[0][0], stretch[-1][0]
            now = _now()
            message = _prune_message(first, last, len(stretch), stretch[-1][1], now)
            session.add(
                LogPruneRecord(
                    at=now,
                    first_seq=first,
                    last_seq=last,
                    count=len(stretch),
                    last_hash=stretch[-1][1],
                    signature=secrets.sign(message),
                )
            )
            session.execute(
                delete(PrivacyLogEntry).where(
                    PrivacyLogEntry.seq >= first, PrivacyLogEntry.seq <= last
                )
            )
            batches += 1
            total += len(stretch)
            if len(stretch) < len(rows):  # reached an entry within the period
                break
    return PruneResult(batches=batches, count=total)


def recent(engine: Engine, limit: int = 200) -> list[PrivacyLogEntry]:
    """The newest entries, newest first (for the DPO's page)."""
    with session_scope(engine) as session:
        return list(
            session.scalars(
                select(PrivacyLogEntry).order_by(PrivacyLogEntry.seq.desc()).limit(limit)
            )
        )
