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


def _statement(sql: str, params: Sequence[Any]) -> Callable[[Any], None]:
    def run(cur: Any) -> None:
        cur.execute(sql, params)

    return run


class BulkConnection:
    """One write transaction on the registry, held exclusively until commit or rollback."""

    def __init__(self, engine: Engine) -> None:
        self.dialect = engine.dialect.name
        self._pooled = engine.raw_connection()
        self.raw: Any = cast(Any, self._pooled.driver_connection)
        self.postgres = self.dialect == "postgresql"
        self._background: _Background | None = None
        self._released = False
        if self.postgres:
            self._cursor = self.raw.cursor()
            # Only one import at a time; readers (logins) are not blocked.
            self._cursor.execute("LOCK TABLE pupil IN EXCLUSIVE MODE")
            self._background = _Background(self.raw)
        else:
            self._isolation = self.raw.isolation_level
            self.raw.isolation_level = None  # we issue BEGIN / COMMIT ourselves
            self._cursor = self.raw.cursor()
            self._cursor.execute("PRAGMA cache_size=-65536")
            self._cursor.execute("BEGIN IMMEDIATE")  # take the write lock now

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
            self.raw.isolation_level = self._isolation
        self._pooled.close()
