"""The migration runner: each part hands its tables and its own branch of versions."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData
from sqlalchemy.exc import OperationalError

from leerid.errors import StorageError

# The generic Alembic environment (env.py) of every schema built from parts.
ENVIRONMENT = Path(__file__).with_name("migrations")

# Where a person fixes the database URL: said in every message about reaching the database.
WHERE_URL = "LEERID_DATABASE_URL (or [storage] database_url of the provider's file)"


@dataclass(frozen=True)
class MigrationPart:
    """One part of leerid in a database: its tables and its folder of Alembic versions."""

    name: str
    metadata: MetaData
    versions: Path


@dataclass(frozen=True)
class Schema:
    """The parts one database holds, migrated together (``heads`` = every part's newest)."""

    parts: Sequence[MigrationPart]


def alembic_config(engine: Engine, migrations: Schema | Path) -> Config:
    """An Alembic configuration bound to ``engine`` (no ini file needed).

    ``migrations`` is either a ``Schema`` built from parts (the Department's database) or
    a script folder with its own ``env.py`` (the service provider's kit keeps its own).
    """
    cfg = Config()
    cfg.attributes["engine"] = engine
    if isinstance(migrations, Path):
        cfg.set_main_option("script_location", str(migrations))
        return cfg
    cfg.set_main_option("script_location", str(ENVIRONMENT))
    cfg.set_main_option("path_separator", "os")
    folders = os.pathsep.join(str(part.versions) for part in migrations.parts)
    cfg.set_main_option("version_locations", folders.replace("%", "%%"))
    metadata: list[MetaData] = []
    for part in migrations.parts:
        if all(part.metadata is not seen for seen in metadata):
            metadata.append(part.metadata)
    cfg.attributes["metadata"] = metadata
    return cfg


def upgrade(engine: Engine, revision: str = "heads", *, migrations: Schema | Path) -> None:
    """Bring the schema to ``revision`` (default: every branch at its newest).

    Each part of leerid (registry, protocols, identity provider) has its own branch of
    migrations off the first one, so ``heads`` is the complete schema.
    """
    try:
        command.upgrade(alembic_config(engine, migrations), revision)
    except OperationalError as exc:
        raise StorageError(
            f"cannot reach the database at {engine.url.render_as_string(hide_password=True)}: "
            f"{exc.orig}. Check {WHERE_URL} and that the server is running."
        ) from None


def is_current(engine: Engine, migrations: Schema | Path) -> bool:
    """Whether the schema is at the newest migration of every branch."""
    heads = set(ScriptDirectory.from_config(alembic_config(engine, migrations)).get_heads())
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    return current == heads
