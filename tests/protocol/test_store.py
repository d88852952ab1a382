"""Protocol versions in the database: never overwritten, same content is the same version."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from leerid.idp.store.protocols import (
    add_protocol,
    current_protocol,
    list_protocols,
    protocol_by_hash,
)
from leerid.protocol import content_hash, load_protocol
from leerid.store.engine import session_scope

SEED = Path(__file__).parents[2] / "protocols" / "dov-lars-glce-2024.yaml"


def test_same_content_same_row_changed_content_new_version(engine: Engine) -> None:
    protocol = load_protocol(SEED)
    text = SEED.read_text(encoding="utf-8")
    with session_scope(engine) as session:
        first = add_protocol(session, protocol, text)
        again = add_protocol(session, protocol, text + "\n# a comment changes no content\n")
    assert first.version == again.version == 1
    assert first.content_hash == again.content_hash == content_hash(protocol)

    changed = protocol.model_copy(update={"version": "2024-02-22-b"})
    with session_scope(engine) as session:
        second = add_protocol(session, changed, text)
    assert second.version == 2 and second.content_hash != first.content_hash

    with session_scope(engine) as session:
        current = current_protocol(session, protocol.id)
        versions = list_protocols(session)
        assert current_protocol(session, "unknown-protocol") is None
        by_hash = protocol_by_hash(session, first.content_hash)
        assert protocol_by_hash(session, "0" * 64) is None
    assert by_hash is not None and by_hash.version == 1 and by_hash.protocol == protocol
    assert current is not None and current.version == 2
    assert current.protocol == changed
    assert [(v.protocol_id, v.version) for v in versions] == [(protocol.id, 1), (protocol.id, 2)]
    # Version 1 is still there, unchanged: versions are never overwritten.
    assert versions[0].protocol == protocol
    assert versions[0].content_hash == content_hash(protocol)
    assert versions[0].added_at.tzinfo is not None


def test_migration_matches_the_model(engine: Engine) -> None:
    """Migration 0002_protocols creates exactly the table the model declares."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from leerid.idp.store.protocols import ProtocolVersion
    from leerid.schema import load_all_models
    from leerid.store.base import Base

    load_all_models()
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    tables = (ProtocolVersion.__tablename__, "protocol_key", "protocol_signature")

    def touches(diff: object) -> bool:
        return any(table in repr(diff) for table in tables)

    assert [d for d in diffs if touches(d)] == []


def test_downgrade_removes_the_table(engine: Engine) -> None:
    from alembic import command
    from sqlalchemy import inspect

    from leerid.schema import alembic_config

    assert "protocol_version" in inspect(engine).get_table_names()
    command.downgrade(alembic_config(engine), "0008_protocol_signatures@-1")
    names = inspect(engine).get_table_names()
    assert "protocol_signature" not in names and "protocol_key" not in names
    assert "added_by" not in {c["name"] for c in inspect(engine).get_columns("protocol_version")}
    command.downgrade(alembic_config(engine), "0002_protocols@-1")
    assert "protocol_version" not in inspect(engine).get_table_names()
