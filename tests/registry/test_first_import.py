"""A first import into an empty registry builds its non-unique indexes and foreign keys once,
at the end, in the import's transaction: afterwards every index and foreign key is there and
valid; a failure on the way, or a row that breaks a foreign key, leaves the registry and its
schema exactly as they were."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, text

from leerid.registry.bulk import BulkConnection
from leerid.registry.generate import generate_registry
from leerid.registry.importer import REGISTRY_TABLES, import_registry
from tests.registry.conftest import snapshot


def shape(engine: Engine) -> dict[str, Any]:
    """The indexes and foreign keys of the registry tables, and whether each key is valid."""
    found = inspect(engine)
    tables: dict[str, Any] = {
        table: (
            sorted(
                (i["name"], tuple(i["column_names"]), i["unique"]) for i in found.get_indexes(table)
            ),
            sorted((f["name"], f["referred_table"]) for f in found.get_foreign_keys(table)),
        )
        for table in REGISTRY_TABLES
    }
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            tables["unvalidated"] = conn.execute(
                text(
                    "SELECT conname FROM pg_constraint WHERE NOT convalidated "
                    "AND connamespace = current_schema()::regnamespace"
                )
            ).all()
    return tables


def test_a_first_import_ends_with_every_index_and_valid_foreign_key(
    engine: Engine, tmp_path: Path
) -> None:
    before = shape(engine)
    assert before["registration"][1] and before["enrolment"][0]  # there is something to keep
    with_probe = BulkConnection(engine, first_import=REGISTRY_TABLES)
    assert with_probe.first_import
    with_probe.rollback()
    assert shape(engine) == before

    generate_registry(tmp_path / "in", 300, seed=5)
    summary = import_registry(engine, tmp_path / "in")
    assert summary.registrations_created == 300
    assert shape(engine) == before
    assert shape(engine).get("unvalidated", []) == []

    later = BulkConnection(engine, first_import=REGISTRY_TABLES)
    assert not later.first_import  # the registry holds pupils: nothing is dropped
    later.rollback()
    again = import_registry(engine, tmp_path / "in")
    assert again.registrations_unchanged == 300


def test_a_first_import_that_fails_half_way_leaves_the_schema_and_no_rows(
    engine: Engine, tmp_path: Path
) -> None:
    before_shape, before_rows = shape(engine), snapshot(engine)
    generate_registry(tmp_path / "in", 300, seed=6)

    def fail_on_enrolments(step: str, done: int, total: int) -> None:
        if step == "enrolments":  # the pupils are written, the indexes are still dropped
            raise RuntimeError("stopped by the operator")

    with pytest.raises(RuntimeError, match="stopped"):
        import_registry(engine, tmp_path / "in", progress=fail_on_enrolments)
    assert shape(engine) == before_shape
    assert snapshot(engine) == before_rows
    assert import_registry(engine, tmp_path / "in").registrations_created == 300


def test_a_row_that_breaks_a_foreign_key_fails_the_first_import(engine: Engine) -> None:
    before = shape(engine)
    db = BulkConnection(engine, first_import=REGISTRY_TABLES)
    now = db.value(dt.datetime.now(dt.UTC))
    db.insert(
        "account",
        ("account_uuid", "pupil_id", "status", "referte", "created_at"),
        [("0e8d6f40-9c7b-4a3e-8f51-2d6c1b0a9e77", 4242, "permanent", None, now)],
    )
    with pytest.raises(Exception, match=r"(?i)foreign key|refer"):
        db.commit()
    assert shape(engine) == before
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM account")).scalar_one() == 0
        if engine.dialect.name == "sqlite":  # the pooled connection checks foreign keys again
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
