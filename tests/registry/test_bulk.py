"""The bulk layer under the import: a failed write (on PostgreSQL it runs in a background
thread) is reported at the next read and the whole transaction is rolled back."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, text

from leerid.registry.bulk import BulkConnection


def test_a_failed_write_is_reported_and_nothing_is_kept(engine: Engine) -> None:
    db = BulkConnection(engine)
    now = db.value(dt.datetime.now(dt.UTC))
    columns = ("merged_at", "kept_leer_id_uuid", "absorbed_leer_id_uuid", "operator", "reason")
    db.insert("merge_record", columns, [(now, "k", "a1", "op", "r")])
    with pytest.raises(Exception, match=r"(?i)unique"):  # the driver's IntegrityError
        db.insert("merge_record", columns, [(now, "k", "a2", "op", "r")] * 2)  # unique twice
        db.execute("SELECT COUNT(*) FROM merge_record")
    db.rollback()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM merge_record")).scalar_one() == 0
