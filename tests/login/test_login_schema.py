"""Migration 0004_idp_login creates exactly the tables its models declare, on each backend."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from leerid.idp.store.login_tables import ActivationCodeRow, LoginThrottleRow
from leerid.schema import load_all_models
from leerid.store.base import Base

OURS = {LoginThrottleRow.__tablename__, ActivationCodeRow.__tablename__}


def _table_of(diff: object) -> str | None:
    """The table a difference reported by alembic is about, when it says."""
    item = diff[0] if isinstance(diff, list) else diff
    for part in item if isinstance(item, tuple) else ():
        name = getattr(part, "name", None)
        table = getattr(part, "table", None)
        if table is not None and getattr(table, "name", None):
            return str(table.name)
        if isinstance(part, str) and part in OURS:
            return part
        if name in OURS:
            return str(name)
    return None


def test_migration_matches_the_models(engine: Engine) -> None:
    load_all_models()
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diffs if _table_of(d) in OURS] == []
