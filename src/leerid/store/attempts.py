"""Atomic reservation of a login attempt before the secret is checked (issue 8 §5).

A throttle that reads its counter, checks the password and then writes the failure lets a
burst through: 300 guesses sent at once all read "no failures yet" and are all checked. So
an attempt first *reserves* a place in one statement (``INSERT ... ON CONFLICT DO UPDATE
... WHERE ... RETURNING`` on SQLite ≥ 3.35 and PostgreSQL), which counts it as in flight
and succeeds only while the settled failures plus the attempts in flight stay below the
lock threshold and no lock runs. The database serialises the statements on the row, so at
most ``lock_after`` attempts per key are ever checked, whatever the concurrency.

Afterwards the attempt is settled: a failure moves it from ``pending`` to ``failures`` (the
caller's lock rules), a success clears the settled failures but leaves the other attempts
still in flight counted, so a right password in a burst does not reopen the door for the
rest of it. An attempt that is never settled (a killed worker) stops counting after
``STALE``. Rows whose window and lock ended, with nothing in flight, are purged in batches
(``purge``).

Used by the provider's login throttle (``leerid.idp.login.throttle``) and the staff login of the
service-provider kit (``leerid.sp.throttle``), each over its own table with the columns
``key, scope, failures, last_failure_at, locked_until, pending, pending_at``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Connection,
    Integer,
    Table,
    and_,
    bindparam,
    case,
    delete,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from leerid.errors import ConfigurationError

__all__ = [
    "STALE",
    "Outcome",
    "Run",
    "aware",
    "count_failure",
    "one_less_pending",
    "purge",
    "release",
    "reserve",
    "spent",
]

STALE = timedelta(minutes=2)
"""An attempt still in flight after this long is taken for lost (its worker died)."""


def aware(value: datetime | None) -> datetime | None:
    """A stored time as UTC (SQLite hands back naive datetimes; everything stored is UTC)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _upsert(conn: Connection, table: Table) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    # make_engine refuses any other database first; this names the rule where it is relied on
    raise ConfigurationError(f"leerid supports SQLite and PostgreSQL, not {conn.dialect.name}")


class Outcome(Protocol):
    """What ``reserve`` and ``release`` read from a statement's result (SQLAlchemy's
    ``CursorResult`` offers it, and so does the provider's hot path)."""

    @property
    def rowcount(self) -> int: ...

    def first(self) -> Any: ...


Run = Callable[[Connection, Any, dict[str, Any]], Outcome]
"""How a built statement is run on a connection: ``conn.execute`` by default; the provider
runs them as prepared statements on its hot path (``idp.store._fast_path``)."""


def _execute(conn: Connection, statement: Any, params: dict[str, Any]) -> Outcome:
    return conn.execute(statement, params)


_STATEMENTS: dict[tuple[str, int, str], Any] = {}
"""Statements built once per (purpose, table, dialect) with bind parameters, so that a
login compiles nothing (SQLAlchemy caches the compiled form of a reused statement); built
per call they were a sixth of a password login's CPU (issue 15)."""


def _built(purpose: str, conn: Connection, table: Table, build: Any) -> Any:
    key = (purpose, id(table), conn.dialect.name)
    statement = _STATEMENTS.get(key)
    if statement is None:
        statement = _STATEMENTS[key] = build(conn, table)
    return statement


def _reserve_statement(conn: Connection, table: Table) -> Any:
    c = table.c
    now = bindparam("now", type_=c.pending_at.type)
    pending = case(
        (c.pending_at < bindparam("stale_before", type_=c.pending_at.type), 0), else_=c.pending
    )
    failures = case(
        (c.last_failure_at < bindparam("window_start", type_=c.last_failure_at.type), 0),
        else_=c.failures,
    )
    return (
        _upsert(conn, table)
        .values(
            key=bindparam("b_key", type_=c.key.type),
            scope=bindparam("b_scope", type_=c.scope.type),
            failures=0,
            last_failure_at=now,
            locked_until=None,
            pending=1,
            pending_at=now,
        )
        .on_conflict_do_update(
            index_elements=[c.key],
            set_={"pending": pending + 1, "pending_at": now},
            where=and_(
                or_(c.locked_until.is_(None), c.locked_until <= now),
                or_(pending == 0, pending + failures < bindparam("lock_after", type_=Integer)),
            ),
        )
        .returning(c.key)
    )


def reserve(
    conn: Connection,
    table: Table,
    key: str,
    scope: str,
    now: datetime,
    *,
    lock_after: int,
    window: timedelta,
    run: Run = _execute,
) -> bool:
    """Reserve one attempt for ``key`` in one statement; False when none may be made now.

    Allowed while no lock runs and ``failures + pending < lock_after`` (failures of the last
    ``window``, attempts in flight of the last ``STALE``); once a lock has ended, one attempt
    at a time (its failure locks again, for longer).
    """
    params = {
        "b_key": key,
        "b_scope": scope,
        "now": now,
        "stale_before": now - STALE,
        "window_start": now - window,
        "lock_after": lock_after,
    }
    statement = _built("reserve", conn, table, _reserve_statement)
    return run(conn, statement, params).first() is not None


def _delete_statement(conn: Connection, table: Table) -> Any:
    c = table.c
    now = bindparam("now", type_=c.pending_at.type)
    return delete(table).where(
        c.key == bindparam("b_key", type_=c.key.type),
        or_(c.pending <= 1, c.pending_at < bindparam("stale_before", type_=c.pending_at.type)),
        or_(c.locked_until.is_(None), c.locked_until <= now),
    )


def _settle_statement(conn: Connection, table: Table) -> Any:
    c = table.c
    return (
        update(table)
        .where(c.key == bindparam("b_key", type_=c.key.type))
        .values(
            pending=one_less_pending(table),
            failures=case((bindparam("success", type_=Boolean), 0), else_=c.failures),
        )
    )


def release(
    conn: Connection,
    table: Table,
    key: str,
    now: datetime,
    *,
    success: bool,
    run: Run = _execute,
) -> None:
    """Take one attempt out of flight; a success also clears the settled failures.

    After a success the row goes when nothing else is in flight and no lock runs (so that a
    normal login leaves nothing behind); otherwise only the counters change. A failure is
    settled by the caller (it decides the lock) together with ``one_less_pending``.
    """
    if success:
        params = {"b_key": key, "now": now, "stale_before": now - STALE}
        gone = run(conn, _built("delete", conn, table, _delete_statement), params)
        if gone.rowcount:
            return
    settle = _built("settle", conn, table, _settle_statement)
    run(conn, settle, {"b_key": key, "success": success})


def one_less_pending(table: Table) -> Any:
    """The ``pending`` column after settling one attempt (never below zero)."""
    return case((table.c.pending > 0, table.c.pending - 1), else_=0)


def count_failure(
    conn: Connection,
    table: Table,
    key: str,
    scope: str,
    now: datetime,
    *,
    lock_after: int,
    window: timedelta,
    lock: timedelta,
    settle: bool,
) -> None:
    """Count one failure for ``key`` in one statement; lock for ``lock`` at ``lock_after``.

    ``settle``: the failure ends an attempt reserved by ``reserve`` (one less in flight).
    Failures older than ``window`` are forgotten; a running lock is never shortened.
    """
    c = table.c
    failures = case((c.last_failure_at < now - window, 1), else_=c.failures + 1)
    locked = case((failures >= lock_after, literal(now + lock, c.locked_until.type)), else_=None)
    first_lock = now + lock if lock_after <= 1 else None
    set_: dict[str, Any] = {
        "failures": failures,
        "last_failure_at": now,
        "locked_until": case(
            (and_(c.locked_until.is_not(None), c.locked_until > now), c.locked_until),
            else_=locked,
        ),
    }
    if settle:
        set_["pending"] = one_less_pending(table)
    statement = (
        _upsert(conn, table)
        .values(key=key, scope=scope, failures=1, last_failure_at=now, locked_until=first_lock)
        .on_conflict_do_update(index_elements=[c.key], set_=set_)
    )
    conn.execute(statement)


def spent(table: Table, now: datetime, window: timedelta) -> ColumnElement[bool]:
    """A row that counts for nothing any more: its last failure older than ``window``, no
    lock running, no attempt in flight (none pending, or the last reserved before ``STALE``)."""
    c = table.c
    return and_(
        c.last_failure_at < now - window,
        or_(c.locked_until.is_(None), c.locked_until <= now),
        or_(c.pending == 0, c.pending_at.is_(None), c.pending_at < now - STALE),
    )


def purge(conn: Connection, table: Table, now: datetime, *, window: timedelta, limit: int) -> int:
    """Delete at most ``limit`` rows that count for nothing any more; the number deleted.

    A row goes when its last failure is older than ``window``, no lock runs and no attempt is
    in flight (none pending, or the last reserved before ``STALE``). The conditions are
    checked again by the DELETE itself, so a reservation made meanwhile keeps its row.
    """
    c = table.c
    done = spent(table, now, window)
    batch = select(c.key).where(done).limit(limit)
    return conn.execute(delete(table).where(c.key.in_(batch), done)).rowcount
