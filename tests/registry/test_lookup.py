"""Art. 5: the lookup runs at every login, so it is a handful of indexed queries, never a scan
of a table (checked with SQLite's query plans on a registry with enough rows to matter)."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from leerid.registry.generate import generate_registry
from leerid.registry.importer import import_registry
from leerid.registry.lookup import find_pupil
from leerid.schema import upgrade
from leerid.store.engine import make_engine


def test_find_pupil_uses_a_handful_of_indexed_queries(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'leerid.db'}")
    upgrade(engine)
    generate_registry(tmp_path / "in", 2000, seed=3)
    import_registry(engine, tmp_path / "in")
    with engine.connect() as conn:
        referte, insz, leer_id, account = conn.execute(
            text(
                "SELECT r.referte, p.insz, p.leer_id_uuid, a.account_uuid FROM registration r "
                "JOIN pupil p ON p.id = r.pupil_id JOIN account a ON a.pupil_id = p.id "
                "WHERE p.insz IS NOT NULL LIMIT 1"
            )
        ).one()
    statements: list[tuple[str, Any]] = []

    def record(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: Any) -> None:
        statements.append((statement, params))

    event.listen(engine, "before_cursor_execute", record)
    keys = {"referte": referte, "insz": insz, "leer_id_uuid": leer_id, "account_uuid": account}
    views = []
    for name, value in keys.items():
        statements.clear()
        with Session(engine) as session:
            views.append(find_pupil(session, on=dt.date.today(), **{name: value}))
        assert len(statements) <= 6, name
        with sqlite3.connect(tmp_path / "leerid.db") as conn:
            for statement, params in statements:
                plan = conn.execute(f"EXPLAIN QUERY PLAN {statement}", params).fetchall()
                details = [str(row[-1]) for row in plan]
                assert not [d for d in details if d.startswith("SCAN")], (statement, details)
    event.remove(engine, "before_cursor_execute", record)
    assert all(v == views[0] for v in views) and views[0] is not None
    engine.dispose()


def test_exactly_one_key(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'leerid.db'}")
    upgrade(engine)
    with Session(engine) as session:
        with pytest.raises(ValueError, match="exactly one"):
            find_pupil(session, on=dt.date.today())
        with pytest.raises(ValueError, match="exactly one"):
            find_pupil(session, on=dt.date.today(), insz="1", referte="R")
        assert find_pupil(session, on=dt.date.today(), referte="unknown") is None
    engine.dispose()
