"""Database plumbing shared by all parts: engine and session set-up, schema, migrations."""

from leerid.store.base import Base
from leerid.store.engine import get_engine, make_engine, session_scope
from leerid.store.runner import MigrationPart, Schema, upgrade

__all__ = [
    "Base",
    "MigrationPart",
    "Schema",
    "get_engine",
    "make_engine",
    "session_scope",
    "upgrade",
]
