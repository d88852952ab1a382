"""The Department's database (DOV): the registry's part and the identity provider's part."""

from __future__ import annotations

from pathlib import Path

from alembic.config import Config
from sqlalchemy import Engine, Table

import leerid.idp.store.console_tables
import leerid.idp.store.endings
import leerid.idp.store.events
import leerid.idp.store.login_tables
import leerid.idp.store.models
import leerid.idp.store.notices
import leerid.idp.store.protocols
import leerid.idp.store.quality_reports
import leerid.idp.store.tlog.tables
import leerid.registry.changes
import leerid.registry.models  # noqa: F401 - the imports above complete Base.metadata
from leerid.store import engine as _engine
from leerid.store import runner
from leerid.store.base import Base
from leerid.store.runner import MigrationPart, Schema

__all__ = [
    "ACCOUNT_TABLES",
    "DOV",
    "IDP",
    "REGISTRY",
    "alembic_config",
    "get_engine",
    "is_current",
    "load_all_models",
    "upgrade",
]

_SRC = Path(__file__).parent

REGISTRY = MigrationPart("registry", Base.metadata, _SRC / "registry" / "migrations" / "versions")
IDP = MigrationPart("idp", Base.metadata, _SRC / "idp" / "migrations" / "versions")
DOV = Schema((REGISTRY, IDP))

ACCOUNT_TABLES: tuple[Table, ...] = tuple(
    Base.metadata.tables[name] for name in ("activation_code", "idp_grant", "idp_refresh_token")
)
"""The provider's tables whose rows belong to one account (``account_uuid``): deleted with
the account when DOV's retention deletes its pupil (``leerid registry retention``). The
disclosure log is not among them: it has its own retention (``leerid idp purge``)."""


def load_all_models() -> None:
    """Every table of the DOV is on ``Base.metadata`` (importing this module did it)."""


def get_engine(url: str | None = None, *, create: bool = True) -> Engine:
    """The process-wide engine of the DOV at ``url`` (default: the environment), migrated."""
    return _engine.get_engine(url, DOV, create=create)


def upgrade(engine: Engine, revision: str = "heads") -> None:
    """Bring the DOV at ``engine`` to ``revision`` (default: every branch at its newest)."""
    runner.upgrade(engine, revision, migrations=DOV)


def is_current(engine: Engine) -> bool:
    """Whether the DOV at ``engine`` is at the newest migration of every branch."""
    return runner.is_current(engine, DOV)


def alembic_config(engine: Engine) -> Config:
    """The Alembic configuration of the DOV bound to ``engine`` (downgrades in tests)."""
    return runner.alembic_config(engine, DOV)
