"""Engine and session set-up for SQLite (embedded default) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from leerid import config
from leerid.errors import ConfigurationError, StorageError

MIGRATIONS = Path(__file__).with_name("migrations")

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """A new engine for ``url``; for SQLite the file's folder is created."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(
            f"LEERID_DATABASE_URL is not a database URL ({exc}); use for example "
            "postgresql+psycopg://user@host:5432/dbname or sqlite:///path/to/file.db"
        ) from None
    backend = parsed.get_backend_name()
    # No SQL values in error messages: they may carry an INSZ or a name into a log.
    kwargs.setdefault("hide_parameters", True)
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
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
        return create_engine(url, **kwargs)
    raise ConfigurationError(
        f"database {backend!r} is not supported; use SQLite (the default) or PostgreSQL "
        "(postgresql+psycopg://…)"
    )


def alembic_config(engine: Engine, migrations: Path = MIGRATIONS) -> Config:
    """An Alembic configuration bound to ``engine`` (no ini file needed).

    ``migrations`` is the script folder: the Department's schema by default; the service
    provider's kit keeps its own database and passes its own folder.
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "heads", migrations: Path = MIGRATIONS) -> None:
    """Bring the schema to ``revision`` (default: every branch at its newest).

    Each part of leerid (registry, protocols, identity provider) has its own branch of
    migrations off the first one, so ``heads`` is the complete schema.
    """
    try:
        command.upgrade(alembic_config(engine, migrations), revision)
    except OperationalError as exc:
        raise StorageError(
            f"cannot reach the database at {engine.url.render_as_string(hide_password=True)}: "
            f"{exc.orig}. Check LEERID_DATABASE_URL and that the server is running."
        ) from None


def is_current(engine: Engine, migrations: Path = MIGRATIONS) -> bool:
    """Whether the schema is at the newest migration of every branch."""
    heads = set(ScriptDirectory.from_config(alembic_config(engine, migrations)).get_heads())
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    return current == heads


def get_engine(url: str | None = None, migrations: Path = MIGRATIONS) -> Engine:
    """The process-wide engine for ``url`` (default: the environment), migrated on first use."""
    url = url or config.database_url()
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = make_engine(url)
            try:
                if not is_current(engine, migrations):
                    upgrade(engine, migrations=migrations)
            except OperationalError as exc:
                raise StorageError(
                    f"cannot reach the database at "
                    f"{engine.url.render_as_string(hide_password=True)}: {exc.orig}. "
                    "Check LEERID_DATABASE_URL and that the server is running."
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
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session in one transaction: committed on success, rolled back on error."""
    factory = sessionmaker(bind=engine or get_engine(), expire_on_commit=False)
    with factory.begin() as session:
        yield session
