"""Prebuilt statements for the hot path, run with as little machinery as possible.

A statement is built once with SQLAlchemy Core (one source of SQL for every backend). On
PostgreSQL it runs as its compiled text on the psycopg connection underneath the SQLAlchemy
one (same connection, same transaction; psycopg adapts the values and prepares repeated
statements itself): about a fifth of the CPU of ``Connection.execute``, which on a 2-core
node is most of a flow's database cost. Other backends (SQLite) use the ordinary
``Connection.execute`` with SQLAlchemy's type processing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import psycopg
from psycopg import pq
from psycopg.rows import namedtuple_row
from sqlalchemy import Connection, Engine, Executable, event

__all__ = ["HotResult", "HotStatement", "connection", "renew_together"]


class HotResult(Protocol):
    """What the hot path reads from a result."""

    @property
    def rowcount(self) -> int: ...

    def first(self) -> Any: ...


class _PsycopgResult:
    def __init__(self, rowcount: int, row: Any) -> None:
        self.rowcount = rowcount
        self._row = row

    def first(self) -> Any:
        return self._row


class _RowFactory:
    """psycopg's ``namedtuple_row`` without its per-statement cost: the row class is made
    from the first result's column names and reused, so later results build no column
    descriptions (the columns of a compiled statement never change)."""

    def __init__(self) -> None:
        self._make: Any = None

    def __call__(self, cursor: Any) -> Any:
        if self._make is None:
            self._make = namedtuple_row(cursor)
        return self._make


class HotStatement:
    """A Core statement with its compiled PostgreSQL text cached per set of parameters."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, ...], tuple[str, Any, _RowFactory]] = {}
        self._lock = threading.Lock()

    def __call__(self, conn: Connection, params: dict[str, Any]) -> HotResult:
        """Execute with ``params`` (bind parameter or column names → values)."""
        if conn.dialect.name != "postgresql":
            return conn.execute(self.statement, params)
        key = tuple(params)
        entry = self._compiled.get(key)
        if entry is None:
            compiled = self.statement.compile(  # type: ignore[attr-defined]
                dialect=conn.dialect, column_keys=list(params)
            )
            entry = (compiled.string, compiled, _RowFactory())
            with self._lock:
                self._compiled[key] = entry
        sql, compiled, rows = entry
        driver = conn.connection.driver_connection
        assert driver is not None
        try:
            with driver.cursor(row_factory=rows) as cursor:
                cursor.execute(sql, compiled.construct_params(params))
                result = cursor.pgresult
                returns_rows = result is not None and result.status == pq.ExecStatus.TUPLES_OK
                row = cursor.fetchone() if returns_rows else None
                return _PsycopgResult(cursor.rowcount, row)
        except psycopg.OperationalError:
            if driver.closed:  # the server went away: drop the pools' connections, as
                conn.invalidate()  # SQLAlchemy does on a disconnect it sees itself
                _renew(conn.engine)
            raise


_TOGETHER: dict[int, tuple[Engine, ...]] = {}
"""Pools (by ``id(engine.pool)``) that reach the same database, renewed together."""


def _renew(engine: Engine) -> None:
    for pool in _TOGETHER.get(id(engine.pool), (engine,)):
        pool.dispose(close=False)


def renew_together(*engines: Engine) -> None:
    """A lost database link seen on one of ``engines`` renews the pools of all of them.

    When the database restarts, every connection of every pool is dead; renewing only the
    pool that noticed would cost one failed request per pool instead of one in all.
    """
    for engine in engines:
        _TOGETHER[id(engine.pool)] = engines

        def on_error(context: Any, engine: Engine = engine) -> None:
            if context.is_disconnect:
                for other in engines:
                    if other.pool is not engine.pool:
                        other.dispose(close=False)

        event.listen(engine, "handle_error", on_error)


@contextmanager
def connection(engine: Engine, conn: Connection | None) -> Iterator[Connection]:
    """``conn`` when the caller has one for this request, else a new one from ``engine``."""
    if conn is not None:
        yield conn
        return
    with engine.connect() as new:
        yield new
