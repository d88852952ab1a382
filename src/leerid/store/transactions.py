"""A short write transaction that holds the database's write lock from its first statement.

On SQLite the driver begins a transaction only at the first write, so what a transaction
read before it could be changed by another writer before its own write: ``BEGIN IMMEDIATE``
takes the write lock first (waiting up to the busy timeout), so a check made inside holds
until the commit. On PostgreSQL a transaction is an ordinary one; the caller locks the rows
it decides about (``FOR UPDATE``) and ``lock_timeout`` bounds any wait.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, text

__all__ = ["write_transaction"]


@contextmanager
def write_transaction(engine: Engine, *, lock_timeout_ms: int = 30_000) -> Iterator[Connection]:
    """One transaction, committed on success and rolled back on error. SQLite: begun with
    ``BEGIN IMMEDIATE``; PostgreSQL: a lock is waited for at most ``lock_timeout_ms``."""
    with engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            with conn.begin():
                conn.execute(text(f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}"))
                yield conn
            return
        raw = conn.connection.driver_connection
        assert raw is not None
        before = raw.isolation_level
        raw.isolation_level = None  # the driver issues no BEGIN of its own: we do
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if raw.in_transaction:  # an error of SQLite's may have ended it already
                    conn.exec_driver_sql("ROLLBACK")
                raise
            conn.exec_driver_sql("COMMIT")
        finally:
            conn.rollback()  # SQLAlchemy's own bookkeeping; the driver has nothing open
            raw.isolation_level = before
