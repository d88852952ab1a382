"""DOV's staff privacy log (art. 6): every read of pupil data by DOV's staff, hash-chained.

The chain is the recipient's (``leerid.duties.hash_chain``): ``entry_hash = SHA-256(prev_hash
| canonical entry)``, the first entry chained to ``GENESIS``; the head row holds the newest
number and hash, so a removed, altered or inserted entry (also the last) breaks
verification. ``append`` writes in the caller's transaction with the head row locked
(``FOR UPDATE``), so two appends never take the same number. An entry never holds a name,
an INSZ or a token: the pupil is its ``leer_id_uuid`` (``pupil_key``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from leerid.duties.hash_chain import GENESIS, canonical, entry_hash, entry_problems
from leerid.idp.store.console_tables import StaffLogEntry, StaffLogHead

__all__ = [
    "LogEntry",
    "LogFilter",
    "LogPage",
    "Verification",
    "append",
    "entries",
    "record",
    "verify",
]

_HEAD_ID = 1
_BATCH = 1000


@dataclass(frozen=True)
class LogEntry:
    """One entry as shown (``detail`` parsed)."""

    seq: int
    at: dt.datetime
    actor: str
    action: str
    pupil_key: str | None
    purpose: str
    detail: dict[str, Any]


def _connection(target: Connection | Session) -> Connection:
    return target.connection() if isinstance(target, Session) else target


def _seed_head(conn: Connection) -> None:
    """The head row, created once (by whichever append comes first)."""
    values = {"id": _HEAD_ID, "seq": 0, "entry_hash": GENESIS}
    if conn.dialect.name == "postgresql":
        conn.execute(postgresql.insert(StaffLogHead).values(**values).on_conflict_do_nothing())
    else:
        conn.execute(sqlite.insert(StaffLogHead).values(**values).on_conflict_do_nothing())


def _locked_head(conn: Connection) -> tuple[int, str]:
    stmt = select(StaffLogHead.seq, StaffLogHead.entry_hash).where(StaffLogHead.id == _HEAD_ID)
    row = conn.execute(stmt.with_for_update()).first()
    if row is None:
        _seed_head(conn)
        row = conn.execute(stmt.with_for_update()).one()
    return int(row.seq), str(row.entry_hash)


def append(
    target: Connection | Session,
    *,
    actor: str,
    action: str,
    purpose: str,
    pupil_key: str | None = None,
    detail: Mapping[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> int:
    """Art. 6: one entry in the caller's transaction (its number is returned). ``detail``
    must hold no name, INSZ or token: the caller passes counts, ids and pseudonyms only."""
    conn = _connection(target)
    prev_seq, prev_hash = _locked_head(conn)
    at = at or dt.datetime.now(dt.UTC)
    seq = prev_seq + 1
    text = canonical(dict(detail or {}))
    digest = entry_hash(prev_hash, seq, at, actor, action, pupil_key, purpose, text)
    conn.execute(
        insert(StaffLogEntry).values(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            pupil_key=pupil_key,
            purpose=purpose,
            detail=text,
            prev_hash=prev_hash,
            entry_hash=digest,
        )
    )
    conn.execute(
        update(StaffLogHead).where(StaffLogHead.id == _HEAD_ID).values(seq=seq, entry_hash=digest)
    )
    return seq


def record(engine: Engine, **kwargs: Any) -> int:
    """``append`` in a transaction of its own."""
    with engine.begin() as conn:
        return append(conn, **kwargs)


@dataclass
class Verification:
    """The outcome of ``leerid beheer log verify``."""

    entries: int = 0
    last_seq: int = 0
    head_hash: str = GENESIS
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(engine: Engine) -> Verification:
    """Art. 6: recompute the chain from ``GENESIS``; name every entry that does not fit."""
    result = Verification()
    expected_seq, expected_prev = 1, GENESIS
    with engine.connect() as conn:
        head = conn.execute(
            select(StaffLogHead.seq, StaffLogHead.entry_hash).where(StaffLogHead.id == _HEAD_ID)
        ).first()
        rows = conn.execution_options(yield_per=_BATCH).execute(
            select(StaffLogEntry).order_by(StaffLogEntry.seq)
        )
        for row in rows:
            result.problems += entry_problems(row, expected_seq, expected_prev)
            result.entries += 1
            expected_seq, expected_prev = row.seq + 1, row.entry_hash
    result.last_seq = expected_seq - 1
    result.head_hash = expected_prev
    head_seq, head_hash = (0, GENESIS) if head is None else (head.seq, head.entry_hash)
    if head_seq != result.last_seq or head_hash != expected_prev:
        result.problems.append(
            f"the log ends at entry {result.last_seq} but its head records entry {head_seq}: "
            "the newest entries were removed or altered"
        )
    return result


@dataclass(frozen=True)
class LogFilter:
    """What to show of the log: every field optional; ``until`` is exclusive."""

    actor: str = ""
    action: str = ""
    pupil_key: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None


@dataclass(frozen=True)
class LogPage:
    """One page of entries, newest first, and how many match in all."""

    entries: list[LogEntry]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _detail(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def entries(
    engine: Engine, where: LogFilter | None = None, *, page: int = 1, per_page: int = 50
) -> LogPage:
    """The entries matching ``where``, newest first, page ``page`` (from 1)."""
    where = where or LogFilter()
    conditions = []
    if where.actor:
        conditions.append(StaffLogEntry.actor == where.actor)
    if where.action:
        conditions.append(StaffLogEntry.action == where.action)
    if where.pupil_key:
        conditions.append(StaffLogEntry.pupil_key == where.pupil_key)
    if where.since is not None:
        conditions.append(StaffLogEntry.at >= where.since)
    if where.until is not None:
        conditions.append(StaffLogEntry.at < where.until)
    page, per_page = max(1, page), max(1, min(per_page, 1000))
    with engine.connect() as conn:
        total = conn.scalar(select(func.count()).select_from(StaffLogEntry).where(*conditions))
        rows = conn.execute(
            select(StaffLogEntry)
            .where(*conditions)
            .order_by(StaffLogEntry.seq.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).all()
    shown = [
        LogEntry(
            r.seq,
            r.at if r.at.tzinfo else r.at.replace(tzinfo=dt.UTC),
            r.actor,
            r.action,
            r.pupil_key,
            r.purpose,
            _detail(r.detail),
        )
        for r in rows
    ]
    return LogPage(shown, int(total or 0), page, per_page)
