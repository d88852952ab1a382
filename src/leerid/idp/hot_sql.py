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
from psycopg.rows import namedtuple_row
from sqlalchemy import Connection, Engine, Executable

__all__ = ["HotResult", "HotStatement", "connection"]


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


class HotStatement:
    """A Core statement with its compiled PostgreSQL text cached per set of parameters."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, ...], tuple[str, Any]] = {}
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
            entry = (compiled.string, compiled)
            with self._lock:
                self._compiled[key] = entry
        sql, compiled = entry
        driver = conn.connection.driver_connection
        assert driver is not None
        try:
            with driver.cursor(row_factory=namedtuple_row) as cursor:
                cursor.execute(sql, compiled.construct_params(params))
                row = cursor.fetchone() if cursor.description is not None else None
                return _PsycopgResult(cursor.rowcount, row)
        except psycopg.OperationalError:
            if driver.closed:  # the server went away: drop this pool's connections, as
                conn.invalidate()  # SQLAlchemy does on a disconnect it sees itself
                conn.engine.dispose(close=False)
            raise


@contextmanager
def connection(engine: Engine, conn: Connection | None) -> Iterator[Connection]:
    """``conn`` when the caller has one for this request, else a new one from ``engine``."""
    if conn is not None:
        yield conn
        return
    with engine.connect() as new:
        yield new
