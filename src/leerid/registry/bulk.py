"""Bulk access to the registry tables on the raw driver connection (sqlite3 or psycopg).

The import writes millions of rows in one transaction; ORM objects would cost minutes and
gigabytes. This thin layer offers what the importer needs on both backends: one exclusive
write transaction, ``executemany``, fast inserts (``COPY`` on PostgreSQL), ``IN`` queries
split into chunks, and a streamed ``SELECT``. SQL is written with ``?`` placeholders.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, cast

from sqlalchemy import Engine

from leerid.errors import StorageError

__all__ = ["BulkConnection"]

IN_CHUNK = 5000
MAX_PENDING = 4


class _Background:
    """PostgreSQL only: writes run in one background thread, in order, on their own cursor.

    While the server inserts a batch, checks its foreign keys and updates its indexes (in its
    own process, on the other core), this process reads and checks the next batch. At most
    ``MAX_PENDING`` writes wait; every read first waits for all of them (``drain``), so a read
    always sees every earlier write. psycopg connections may be shared between threads.
    """

    def __init__(self, connection: Any) -> None:
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="leerid-import-writer")
        self._pending: deque[Future[None]] = deque()
        self._cursor = connection.cursor()

    def submit(self, write: Callable[[Any], None]) -> None:
        while len(self._pending) >= MAX_PENDING:
            self._pending.popleft().result()
        self._pending.append(self._executor.submit(write, self._cursor))

    def drain(self) -> None:
        while self._pending:
            self._pending.popleft().result()

    def close(self) -> None:
        """Wait for the writes in flight (their errors are dropped: the caller is already
        failing and rolls back) and stop the thread."""
        try:
            self.drain()
        except Exception:  # noqa: S110 - see the docstring
            pass
        finally:
            self._pending.clear()
            self._executor.shutdown(wait=True)
            self._cursor.close()


class _DeferredChecks:
    """A first import into an empty registry: the non-unique indexes and the foreign keys
    between the written tables are dropped in the import's transaction and rebuilt, from
    their own definitions, just before the commit (one sort or one join instead of a check
    and an index update per row). Unique indexes stay: the import reads through them.

    PostgreSQL re-adds each foreign key with a full check (``convalidated``); SQLite runs
    with ``foreign_keys`` off (it cannot be switched inside a transaction) and runs
    ``PRAGMA foreign_key_check`` before the commit. A failure rolls everything back.
    """

    def __init__(self, cursor: Any, postgres: bool, tables: Sequence[str]) -> None:
        self.cursor = cursor
        self.postgres = postgres
        self.tables = list(tables)
        self.statements: list[str] = []

    def defer(self) -> None:
        cur = self.cursor
        if self.postgres:
            cur.execute(
                "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) "
                "FROM pg_constraint c WHERE c.contype = 'f' "
                "AND c.conrelid = ANY(%s::regclass[]) ORDER BY c.conname",
                (self.tables,),
            )
            for table, name, definition in cur.fetchall():
                cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
                self.statements.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            cur.execute(
                "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) "
                "FROM pg_index i WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisunique "
                "ORDER BY 1",
                (self.tables,),
            )
        else:
            marks = ",".join("?" * len(self.tables))
            cur.execute(
                "SELECT m.name, m.sql FROM sqlite_master m WHERE m.type = 'index' "  # noqa: S608
                f"AND m.sql IS NOT NULL AND m.tbl_name IN ({marks}) AND NOT EXISTS ("
                "SELECT 1 FROM pragma_index_list(m.tbl_name) l "
                'WHERE l.name = m.name AND l."unique") ORDER BY m.name',
                self.tables,
            )
        indexes = cur.fetchall()
        for name, _ in indexes:
            cur.execute(f"DROP INDEX {name}")
        self.statements[:0] = [definition for _, definition in indexes]

    def restore(self) -> None:
        """Rebuild what ``defer`` dropped; raise ``StorageError`` if a row breaks a rule."""
        cur = self.cursor
        if self.postgres:
            cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for statement in self.statements:
            cur.execute(statement)
        if self.postgres:
            return
        for table in self.tables:
            cur.execute(f"PRAGMA foreign_key_check({table})")
            broken = cur.fetchall()
            if broken:
                raise StorageError(
                    f"the import left {len(broken)} rows of {table} without the row they "
                    f"refer to (first: rowid {broken[0][1]} -> {broken[0][2]}); nothing was "
                    "imported. Report this as a bug in leerid."
                )


def _statement(sql: str, params: Sequence[Any]) -> Callable[[Any], None]:
    def run(cur: Any) -> None:
        cur.execute(sql, params)

    return run


class BulkConnection:
    """One write transaction on the registry, held exclusively until commit or rollback."""

    def __init__(self, engine: Engine, first_import: Sequence[str] = ()) -> None:
        """``first_import``: tables whose non-unique indexes and foreign keys are rebuilt at
        the end (``rebuild_deferred``) when they are all empty (``_DeferredChecks``)."""
        self.dialect = engine.dialect.name
        self._pooled = engine.raw_connection()
        self.raw: Any = cast(Any, self._pooled.driver_connection)
        self.postgres = self.dialect == "postgresql"
        self._background: _Background | None = None
        self._deferred: _DeferredChecks | None = None
        self._released = False
        if self.postgres:
            self._cursor = self.raw.cursor()
            # Only one import at a time; readers (logins) are not blocked.
            self._cursor.execute("LOCK TABLE pupil IN EXCLUSIVE MODE")
            if first_import and self._empty(first_import):
                self._deferred = _DeferredChecks(self._cursor, True, first_import)
                self._deferred.defer()
            self._background = _Background(self.raw)
        else:
            self._isolation = self.raw.isolation_level
            self.raw.isolation_level = None  # we issue BEGIN / COMMIT ourselves
            self._cursor = self.raw.cursor()
            for pragma in ("cache_size=-65536", "temp_store=MEMORY"):
                self._cursor.execute(f"PRAGMA {pragma}")
            if first_import and self._empty(first_import):
                self._cursor.execute("PRAGMA foreign_keys=OFF")  # checked before the commit
                self._deferred = _DeferredChecks(self._cursor, False, first_import)
            self._cursor.execute("BEGIN IMMEDIATE")  # take the write lock now
            if self._deferred is not None and self._empty(first_import):
                self._deferred.defer()  # still empty now that the write lock is ours

    def _empty(self, tables: Sequence[str]) -> bool:
        for table in tables:
            self._cursor.execute(f"SELECT 1 FROM {table} LIMIT 1")  # noqa: S608 - ours
            if self._cursor.fetchone() is not None:
                return False
        return True

    @property
    def first_import(self) -> bool:
        """Whether indexes and foreign keys wait for ``rebuild_deferred``."""
        return self._deferred is not None

    def rebuild_deferred(self) -> None:
        """Rebuild the indexes and foreign keys of a first import (no-op otherwise)."""
        if self._deferred is not None:
            self._drain()
            self._deferred.restore()
            self._deferred = None

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.postgres else sql

    def value(self, value: Any) -> Any:
        """A date or time as the driver should receive it (text on SQLite, as SQLAlchemy)."""
        if self.postgres or value is None:
            return value
        if type(value) is dt.date:
            return value.isoformat()
        if isinstance(value, dt.datetime):
            return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        return value

    def _write(self, write: Callable[[Any], None]) -> None:
        if self._background is not None:
            self._background.submit(write)
        else:
            write(self._cursor)

    def _drain(self) -> None:
        if self._background is not None:
            self._background.drain()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement (after every pending write); the rows it returns, if any."""
        self._drain()
        cur = self._cursor
        cur.execute(self._sql(sql), params)
        if cur.description is None:
            return []
        return list(cur.fetchall())

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each row."""
        if rows:
            self._write(lambda cur: cur.executemany(self._sql(sql), rows))

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """Insert rows fast: ``COPY`` on PostgreSQL, ``executemany`` on SQLite."""
        names = ", ".join(columns)
        if self.postgres:

            def copy_rows(cur: Any) -> None:
                with cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)

            self._write(copy_rows)
            return
        marks = ", ".join("?" * len(columns))
        sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 - names are ours
        self._cursor.executemany(sql, rows)

    def update_column(
        self, table: str, key: str, column: str, rows: Sequence[tuple[Any, Any]]
    ) -> None:
        """``UPDATE table SET column = value WHERE key = k`` for each ``(value, k)``.

        On PostgreSQL the pairs are copied into a temporary table and applied by one
        ``UPDATE ... FROM`` (row-by-row updates cost a round trip each).
        """
        if not rows:
            return
        if not self.postgres:
            sql = f"UPDATE {table} SET {column} = ? WHERE {key} = ?"  # noqa: S608 - ours
            self._cursor.executemany(sql, rows)
            return

        def update(cur: Any) -> None:
            cur.execute(
                "CREATE TEMP TABLE IF NOT EXISTS bulk_update (value TEXT, key TEXT) ON COMMIT DROP"
            )
            cur.execute("TRUNCATE bulk_update")
            with cur.copy("COPY bulk_update (value, key) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cur.execute(
                f"UPDATE {table} SET {column} = u.value FROM bulk_update u "  # noqa: S608
                f"WHERE {table}.{key} = u.key"
            )

        self._write(update)

    def select_in(
        self, sql: str, column: str, values: Sequence[Any], tail: str = ""
    ) -> list[tuple[Any, ...]]:
        """``sql WHERE column IN values tail``; ``sql`` may end in ``WHERE ... AND``."""
        self._drain()
        joiner = "" if sql.rstrip().upper().endswith(("AND", "WHERE")) else " WHERE"
        out: list[tuple[Any, ...]] = []
        for start in range(0, len(values), IN_CHUNK):
            part = list(values[start : start + IN_CHUNK])
            if self.postgres:
                self._cursor.execute(f"{sql}{joiner} {column} = ANY(%s) {tail}", (part,))
            else:
                marks = ",".join("?" * len(part))
                self._cursor.execute(f"{sql}{joiner} {column} IN ({marks}) {tail}", part)
            out.extend(self._cursor.fetchall())
        return out

    def execute_in(self, sql: str, column: str, values: Sequence[Any]) -> None:
        """``sql WHERE column IN values`` for a statement returning nothing (DELETE, UPDATE)."""
        for start in range(0, len(values), IN_CHUNK):
            part = list(values[start : start + IN_CHUNK])
            if self.postgres:
                self._write(_statement(f"{sql} WHERE {column} = ANY(%s)", (part,)))
            else:
                marks = ",".join("?" * len(part))
                self._cursor.execute(f"{sql} WHERE {column} IN ({marks})", part)

    def stream(self, sql: str, size: int = 10000) -> Iterator[tuple[Any, ...]]:
        """The rows of a query, fetched a batch at a time (a server-side cursor on PostgreSQL)."""
        self._drain()
        cur = self.raw.cursor(name="leerid_stream") if self.postgres else self.raw.cursor()
        try:
            cur.execute(self._sql(sql))
            while batch := cur.fetchmany(size):
                yield from batch
        finally:
            cur.close()

    def create_temp_table(self, name: str, columns: str) -> None:
        """A temporary table private to this transaction."""
        if self.postgres:
            self.execute(f"CREATE TEMP TABLE {name} ({columns}) ON COMMIT DROP")
        else:
            self.execute(f"DROP TABLE IF EXISTS temp.{name}")
            self.execute(f"CREATE TEMP TABLE {name} ({columns})")

    def drop_temp_table(self, name: str) -> None:
        """Drop a temporary table (on PostgreSQL it goes at commit anyway)."""
        if not self.postgres:
            self.execute(f"DROP TABLE IF EXISTS temp.{name}")

    def commit(self) -> None:
        """Commit the transaction and give the connection back."""
        try:
            self.rebuild_deferred()
        except BaseException:
            self.rollback()
            raise
        try:
            self._drain()
            if self.postgres:
                self.raw.commit()
            else:
                self._cursor.execute("COMMIT")
        finally:
            self._release()

    def rollback(self) -> None:
        """Undo everything and give the connection back."""
        if self._released:
            return  # a failed commit already gave the connection back (rolled back)
        try:
            self._close_background()  # nothing may still be writing when we roll back
            if self.postgres:
                self.raw.rollback()
            elif self.raw.in_transaction:
                self._cursor.execute("ROLLBACK")
        finally:
            self._release()

    def _close_background(self) -> None:
        if self._background is not None:
            self._background.close()
            self._background = None

    def _release(self) -> None:
        self._released = True
        self._close_background()
        self._cursor.close()
        if not self.postgres:
            if self.raw.in_transaction:  # a failed COMMIT
                self.raw.execute("ROLLBACK")
            self.raw.execute("PRAGMA foreign_keys=ON")  # as the engine set it
            self.raw.isolation_level = self._isolation
        self._pooled.close()
