"""Prebuilt statements for the hot path, run with as little machinery as possible.

A statement is built once with SQLAlchemy Core (one source of SQL for every backend) and
compiled once per set of parameter names. On PostgreSQL it runs on the psycopg connection
underneath the SQLAlchemy one:

- in autocommit (the provider's single-statement pools), straight through libpq: the text
  made positional (``$1…$n``) is prepared once per database connection under a name of ours
  (``leerid_hot_<n>``), and each call is one ``PQexecPrepared``, its values dumped as text by
  the connection's psycopg adapters (the server knows every parameter's type from the casts
  and columns of the statement) and its row loaded in binary by the connection's loaders.
  psycopg's cursor machinery took about three times the CPU: a prepared indexed read went
  from 99 to 29 µs of CPU per call, an INSERT from 95 to 36 µs (2 cores shared, load 8).
  Failures are psycopg's own exceptions for the same result; a statement deallocated behind
  our back is prepared again, once.
- in a transaction, on psycopg's cursor (psycopg begins its transaction lazily, so a raw
  libpq call would run outside it).

Other backends (SQLite) use the ordinary ``Connection.execute`` with SQLAlchemy's type
processing.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import namedtuple
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any, Protocol

import psycopg
from psycopg import pq
from psycopg.adapt import PyFormat, Transformer
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


_PLACEHOLDER = re.compile(r"%(?:%|\((?P<name>[^)]*)\)s)")
_NAMES = itertools.count(1)
_LINK = "leerid_hot"
"""Key of a connection's ``_Link`` in its pool entry's ``info`` (which lives exactly as
long as the DBAPI connection)."""
_NOT_PREPARED = b"26000"  # invalid_sql_statement_name, e.g. after DEALLOCATE ALL
_SQLSTATE = pq.DiagnosticField.SQLSTATE
_TUPLES_OK, _COMMAND_OK = pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK


def _positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """``%(name)s`` as ``$1…$n`` (a repeated name keeps its number, ``%%`` becomes ``%``);
    the names in number order."""
    numbers: dict[str, int] = {}

    def number(match: re.Match[str]) -> str:
        name = match["name"]
        return "%" if name is None else f"${numbers.setdefault(name, len(numbers) + 1)}"

    return _PLACEHOLDER.sub(number, sql), tuple(numbers)


class _Link:
    """What one database connection holds for the raw path: the names prepared on it, and a
    Transformer with its adapters and time zone to dump values and load rows."""

    def __init__(self, driver: psycopg.Connection[Any]) -> None:
        self.prepared: set[bytes] = set()
        self.transformer = Transformer(driver)
        self.encoding = driver.info.encoding


def _error(pgconn: pq.abc.PGconn, result: pq.abc.PGresult, encoding: str) -> psycopg.Error:
    """The exception psycopg's own cursor raises for ``result``."""
    if pgconn.status == pq.ConnStatus.BAD and not result.error_field(_SQLSTATE):
        # libpq's report of a lost link carries no SQLSTATE; psycopg calls it operational
        return psycopg.OperationalError(result.get_error_message(encoding))
    return psycopg.errors.error_from_result(result, encoding=encoding)


class _Prepared:
    """A compiled statement as a server-side prepared statement of ours, run through libpq:
    values dumped as text (the server knows each parameter's type from the statement's
    casts and columns), rows in binary through psycopg's loaders."""

    def __init__(self, sql: str) -> None:
        self.sql, self.names = _positional(sql)
        self.name = f"leerid_hot_{next(_NAMES)}".encode()
        self.formats = [PyFormat.TEXT] * len(self.names)
        self.row: Any = None  # the namedtuple class, from the first result's columns

    def run(
        self, info: MutableMapping[Any, Any], driver: psycopg.Connection[Any], values: Any
    ) -> _PsycopgResult:
        """Execute on ``driver`` (in autocommit) with ``values`` (name → value)."""
        link = info.get(_LINK)
        if link is None:
            link = info[_LINK] = _Link(driver)
        pgconn = driver.pgconn
        # None is SQL NULL to libpq (as psycopg passes it), though the stubs leave it out
        params: Any = link.transformer.dump_sequence([values[n] for n in self.names], self.formats)
        if self.name not in link.prepared:
            self._prepare(pgconn, link)
        result = pgconn.exec_prepared(self.name, params, None, 1)
        if result.error_field(_SQLSTATE) == _NOT_PREPARED:
            link.prepared.discard(self.name)  # deallocated behind our back: once more
            self._prepare(pgconn, link)
            result = pgconn.exec_prepared(self.name, params, None, 1)
        return self._result(pgconn, link, result)

    def _prepare(self, pgconn: pq.abc.PGconn, link: _Link) -> None:
        result = pgconn.prepare(self.name, self.sql.encode(link.encoding), None)
        if result.status != _COMMAND_OK:
            raise _error(pgconn, result, link.encoding)
        link.prepared.add(self.name)

    def _result(
        self, pgconn: pq.abc.PGconn, link: _Link, result: pq.abc.PGresult
    ) -> _PsycopgResult:
        status = result.status
        if status not in (_TUPLES_OK, _COMMAND_OK):
            # one prepared statement gives one result: no COPY, no second statement
            assert status == pq.ExecStatus.FATAL_ERROR, f"unexpected result status {status}"
            raise _error(pgconn, result, link.encoding)
        tuples = result.command_tuples
        rowcount = -1 if tuples is None else tuples
        if status == _COMMAND_OK or result.ntuples == 0:
            return _PsycopgResult(rowcount, None)
        if self.row is None:
            names = [result.fname(i) or b"" for i in range(result.nfields)]
            self.row = namedtuple("Row", [n.decode(link.encoding) for n in names], rename=True)  # type: ignore[misc]
        link.transformer.set_pgresult(result)
        return _PsycopgResult(rowcount, link.transformer.load_row(0, self.row._make))


class HotStatement:
    """A Core statement with its compiled PostgreSQL text cached per set of parameters."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, ...], tuple[str, Any, _RowFactory, _Prepared]] = {}
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
            entry = (compiled.string, compiled, _RowFactory(), _Prepared(compiled.string))
            with self._lock:
                self._compiled[key] = entry
        sql, compiled, rows, prepared = entry
        fairy = conn.connection
        driver = fairy.driver_connection
        assert driver is not None
        try:
            if driver.autocommit:  # no transaction of psycopg's to begin: straight to libpq
                return prepared.run(fairy.info, driver, compiled.construct_params(params))
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
