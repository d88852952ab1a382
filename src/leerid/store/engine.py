"""Engine and session set-up for SQLite (embedded default) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from psycopg.types.array import ListBinaryDumper
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from leerid import config
from leerid.errors import ConfigurationError, MissingDatabaseError, StorageError
from leerid.store.runner import WHERE_URL, Schema, is_current, upgrade

_engines: dict[str, Engine] = {}
_lock = threading.Lock()
_creating_allowed = False  # `leerid --create`: a read command may create a missing database


def allow_creating_databases(allowed: bool) -> None:
    """``leerid --create``: commands that only read may then create a missing database."""
    global _creating_allowed
    _creating_allowed = allowed


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_for_update(conn: Any, clauseelement: Any, *_args: Any) -> None:
    """A ``FOR UPDATE`` read on SQLite first takes the database's write lock.

    SQLite has no row locks and drops ``FOR UPDATE``; its driver begins a transaction only at
    the first write, so a head row read "for update" could be changed by another writer
    before this one writes (two privacy-log entries with one number). ``BEGIN IMMEDIATE``
    waits (up to the busy timeout) for the write lock and holds it to the commit; a
    transaction that already wrote holds it already.
    """
    if getattr(clauseelement, "_for_update_arg", None) is None:
        return
    raw = conn.connection.driver_connection
    if raw is not None and not raw.in_transaction:
        raw.execute("BEGIN IMMEDIATE")


def _binary_arrays(dbapi_connection: Any, _record: Any) -> None:
    """Python lists go to PostgreSQL in binary: the text format quotes each element with a
    regular expression, 3.4 ms for 500 keys against 0.5 ms on this machine. Lists are the
    arrays of ``store.bulk`` and the registry importer's ``= ANY(%s)`` keys."""
    dbapi_connection.adapters.register_dumper(list, ListBinaryDumper)


def parse_url(url: str) -> URL:
    """``url`` parsed, or a ``ConfigurationError`` (exit 2) that says how to write one."""
    try:
        parsed = make_url(url)
        parsed.port  # noqa: B018 - a port that is not a number raises here, not at connect
    except (ArgumentError, ValueError) as exc:
        what = "its port is not a number" if isinstance(exc, ValueError) else "it cannot be read"
        raise ConfigurationError(
            f"the database URL is not valid ({what}); check LEERID_DATABASE_URL (or "
            "[storage] database_url of the provider's file) and write for example "
            "postgresql+psycopg://user@host:5432/dbname or sqlite:///path/to/file.db"
        ) from None
    return parsed


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite ``url`` (None for PostgreSQL and in-memory SQLite)."""
    parsed = parse_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(str(parsed.database))


def require_existing(url: str) -> None:
    """A read must not create a database: a missing SQLite file is an error (exit 2).

    A typo in a path would otherwise give a new, empty database and a report of zeros.
    """
    path = sqlite_file(url)
    if path is not None and not path.is_file() and not _creating_allowed:
        raise MissingDatabaseError(
            f"no database at {path.resolve()}: this command only reads and does not create "
            "one. Check the path (LEERID_DATABASE_URL, or LEERID_HOME when it is unset; for "
            "the provider's kit [storage] database_url), or create the database with a "
            "command that writes: `leerid db upgrade` or `leerid registry import FOLDER` "
            "(provider's kit: `leerid sp staff add` or `leerid sp serve`), or give "
            "`leerid --create …` to create it with this command"
        )


def make_engine(url: str, **kwargs: Any) -> Engine:
    """A new engine for ``url``; for SQLite the file's folder is created."""
    parsed = parse_url(url)
    backend = parsed.get_backend_name()
    # No SQL values in error messages: they may carry an INSZ or a name into a log.
    kwargs.setdefault("hide_parameters", True)
    if backend == "sqlite":
        path = sqlite_file(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "before_execute", _sqlite_for_update)
        return engine
    if backend == "postgresql":
        if parsed.drivername != "postgresql+psycopg":
            raise ConfigurationError(
                f"database URL uses driver {parsed.drivername!r}; leerid uses psycopg 3: "
                "write postgresql+psycopg://…"
            )
        kwargs.setdefault("pool_pre_ping", True)
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _binary_arrays)
        return engine
    raise ConfigurationError(
        f"database {backend!r} is not supported; use SQLite (the default) or PostgreSQL "
        "(postgresql+psycopg://…)"
    )


def get_engine(url: str | None, migrations: Schema | Path, *, create: bool = True) -> Engine:
    """The process-wide engine for ``url`` (None: the environment), migrated on first use.

    ``migrations`` is the database's schema (``leerid.schema.DOV`` for the Department's,
    whose ``leerid.schema.get_engine`` passes it) or the kit's own script folder.

    ``create=False`` is for commands that only read: a SQLite file that does not exist is
    then an error (``MissingDatabaseError``) instead of a new, empty database.
    """
    url = url or config.database_url()
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            if not create:
                require_existing(url)
            engine = make_engine(url)
            try:
                if not is_current(engine, migrations):
                    upgrade(engine, migrations=migrations)
            except OperationalError as exc:
                raise StorageError(
                    f"cannot reach the database at "
                    f"{engine.url.render_as_string(hide_password=True)}: {exc.orig}. "
                    f"Check {WHERE_URL} and that the server is running."
                ) from None
            _engines[url] = engine
        return engine


def dispose_engines() -> None:
    """Close every cached engine (tests, and before a process forks)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on error."""
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory.begin() as session:
        yield session
