"""Art. 3, DOV's side: retire, revive and delete pupils without an enrolment, on each backend."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

from sqlalchemy import Engine, event, select, text
from sqlalchemy.orm import Session

from leerid.idp.store.pupils import fetch_pupil
from leerid.protocol import IsoDuration
from leerid.registry.accounts import create_account
from leerid.registry.bulk import BulkConnection
from leerid.registry.merge import merge_pupils
from leerid.registry.models import MergeRecord
from leerid.registry.retention import RetentionCounts, RetentionPolicy, run_retention
from leerid.registry.retention.queries import SCRUBBED_REASON
from leerid.schema import ACCOUNT_TABLES
from leerid.store.engine import session_scope
from leerid.testing import seeding
from tests.conftest import run_leerid
from tests.registry.conftest import national_number
from tests.registry.retention_world import (
    CUTOFF,
    DAY,
    NOW,
    TODAY,
    accounts_of,
    pupil,
    purged_changes,
    reimport,
    retired_ids,
)

GRACE_OVER = NOW + dt.timedelta(days=30, seconds=1)


def run(engine: Engine, now: dt.datetime = NOW, **options: Any) -> RetentionCounts:
    return run_retention(engine, now=now, account_tables=ACCOUNT_TABLES, **options)


def released(engine: Engine, account_uuid: str) -> bool:
    """Art. 5: whether the provider would release the account's pupil now."""
    with engine.connect() as conn:
        return fetch_pupil(conn, account_uuid, TODAY) is not None


def test_due_the_day_after_three_years_and_then_nothing_is_released(engine: Engine) -> None:
    after = pupil(engine, CUTOFF - DAY)  # ended more than three years ago: due
    exactly = pupil(engine, CUTOFF)  # ended three years ago to the day: not yet
    running = pupil(engine, None)
    recent = pupil(engine, TODAY - dt.timedelta(days=400))
    never = pupil(engine)  # registered today, never enrolled: counts from today
    temporary = pupil(engine, CUTOFF - DAY, identified=False)  # a temporary account only

    counts = run(engine)
    assert (counts.retired, counts.deleted) == (2, 0)
    assert retired_ids(engine) == {after.pupil_id, temporary.pupil_id}
    assert not released(engine, after.accounts[0]) and not released(engine, temporary.accounts[0])
    for active in (exactly, running, recent, never):
        assert released(engine, active.accounts[0])

    run(engine, NOW + DAY)  # a day later the one that ended on the cutoff day is due too
    assert retired_ids(engine) == {after.pupil_id, temporary.pupil_id, exactly.pupil_id}


def test_an_import_with_a_new_enrolment_revives_at_once(engine: Engine) -> None:
    back = pupil(engine, CUTOFF - DAY)
    stays = pupil(engine, CUTOFF - DAY)
    run(engine)
    assert retired_ids(engine) == {back.pupil_id, stays.pupil_id}
    reimport(engine, back.referte, CUTOFF - DAY, None, insz=_insz(engine, back.pupil_id))
    assert retired_ids(engine) == {stays.pupil_id}  # revived by the import itself
    assert released(engine, back.accounts[0])
    counts = run(engine, GRACE_OVER)
    assert (counts.deleted, counts.revived) == (1, 0)
    assert accounts_of(engine, back.pupil_id) == list(back.accounts)


def test_a_longer_period_revives_on_the_next_run(engine: Engine) -> None:
    a = pupil(engine, CUTOFF - DAY)
    run(engine)
    longer = RetentionPolicy(period=IsoDuration(years=5))
    counts = run_retention(engine, longer, now=NOW + DAY)
    assert (counts.revived, counts.retired) == (1, 0)
    assert retired_ids(engine) == set() and released(engine, a.accounts[0])


def test_deletion_after_the_grace_period_removes_every_row(engine: Engine) -> None:
    old = CUTOFF - dt.timedelta(days=100)
    keep = pupil(engine, None)
    gone = pupil(engine, old, identified=False)  # temporary account, then identified:
    reimport(engine, gone.referte, old, insz=national_number(dt.date(2008, 5, 17), 700))
    absorbed = pupil(engine, old)
    with session_scope(engine) as session:
        leer_id = _leer_id(session, gone.pupil_id)
        extra = create_account(session, leer_id)
        merge_pupils(
            session,
            keep=leer_id,
            absorb=absorbed.leer_id_uuid or "",
            operator="helpdesk",
            reason="ticket 12: Jan Peeters twice",
        )
    unidentified = pupil(engine, old, identified=False)
    seeding.give_password(engine, extra, f"jan.{gone.pupil_id}", "Een-goed-wachtwoord-1")
    seeding.issue_code(engine, unidentified.accounts[0], f"tmp.{unidentified.pupil_id}")
    accounts = set(accounts_of(engine, gone.pupil_id))
    assert len(accounts) == 4  # the temporary (historiek), the permanent, the extra, the merged

    run(engine)
    waiting = run(engine, NOW + dt.timedelta(days=29))
    assert (waiting.waiting, waiting.deleted) == (2, 0)
    counts = run(engine, GRACE_OVER)
    assert (counts.deleted, counts.accounts_deleted) == (2, 5)

    for table, column, keys in (
        ("pupil", "id", [gone.pupil_id, unidentified.pupil_id]),
        ("registration", "pupil_id", [gone.pupil_id, unidentified.pupil_id]),
        ("insz_history", "pupil_id", [gone.pupil_id]),
        ("account", "account_uuid", [*accounts, *unidentified.accounts]),
        ("credential", "account_uuid", [*accounts, *unidentified.accounts]),
        ("activation_code", "account_uuid", [*accounts, *unidentified.accounts]),
        ("enrolment", "referte", [gone.referte, absorbed.referte, unidentified.referte]),
        ("enrolment_digest", "referte", [gone.referte, absorbed.referte, unidentified.referte]),
    ):
        assert _count(engine, table, column, keys) == 0, table
    assert _count(engine, "pupil", "id", [keep.pupil_id]) == 1
    assert _count(engine, "enrolment", "referte", [keep.referte]) == 1

    changes = sorted(purged_changes(engine), key=lambda c: c[0] or "")
    assert changes == sorted(
        [
            (
                leer_id,
                sorted(accounts),
                {"leer_id_uuid": leer_id, "account_uuids": sorted(accounts)},
            ),
            (
                None,
                list(unidentified.accounts),
                {"leer_id_uuid": None, "account_uuids": list(unidentified.accounts)},
            ),
        ],
        key=lambda c: c[0] or "",
    )
    with Session(engine) as session:
        (record,) = session.scalars(select(MergeRecord)).all()
    assert (record.kept_leer_id_uuid, record.absorbed_leer_id_uuid) == (
        leer_id,
        absorbed.leer_id_uuid,
    )
    assert record.reason == SCRUBBED_REASON


def test_batches_hold_at_most_the_batch_size(engine: Engine) -> None:
    for _ in range(25):
        pupil(engine, CUTOFF - DAY)
    touched: list[int] = []
    per_batch: list[int] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith(("UPDATE PUPIL", "DELETE FROM PUPIL")):
            touched.append(cursor.rowcount)

    def batch_ends() -> None:
        per_batch.append(sum(touched))
        touched.clear()

    event.listen(engine, "after_cursor_execute", count)
    try:
        retire = run(engine, batch=10, during_batch=batch_ends)
        delete = run(engine, GRACE_OVER, batch=10, during_batch=batch_ends)
    finally:
        event.remove(engine, "after_cursor_execute", count)
    assert retire.retired == 25 and delete.deleted == 25
    assert max(per_batch) == 10 and sum(per_batch) == 50
    assert len(purged_changes(engine)) == 25


def test_a_dry_run_changes_nothing(engine: Engine) -> None:
    pupil(engine, CUTOFF - DAY)
    counts = run(engine, dry_run=True)
    assert counts.retired == 1 and counts.dry_run
    assert retired_ids(engine) == set()


def test_retention_waits_for_an_import_and_sees_its_enrolment(engine: Engine) -> None:
    """An import holds the registry (PostgreSQL: EXCLUSIVE on pupil; SQLite: the write
    lock): a deletion batch waits for it, then sees the enrolment it wrote, and revives."""
    back = pupil(engine, CUTOFF - DAY)
    run(engine)
    db = BulkConnection(engine)  # what an import holds from start to commit
    db.execute(
        "INSERT INTO enrolment (referte, instellingsnummer, administratieve_groep, begindatum)"
        " VALUES (?, '012345', '000001', ?)",
        (back.referte, db.value(TODAY)),
    )
    result: list[RetentionCounts] = []
    worker = threading.Thread(target=lambda: result.append(run(engine, GRACE_OVER)))
    worker.start()
    time.sleep(1.0)
    assert worker.is_alive(), "the retention run did not wait for the import"
    db.commit()
    worker.join(30)
    (counts,) = result
    assert (counts.deleted, counts.revived) == (0, 1)
    assert accounts_of(engine, back.pupil_id) == list(back.accounts)


def test_the_command(leerid_env: dict[str, str]) -> None:
    assert run_leerid(["db", "upgrade"], leerid_env).returncode == 0
    done = run_leerid(["registry", "retention", "--dry-run", "--json"], leerid_env)
    assert done.returncode == 0, done.stderr
    assert '"retired": 0' in done.stdout and '"period": "P3Y"' in done.stdout
    done = run_leerid(["registry", "retention"], leerid_env)
    assert "deleted: 0 pupils" in done.stdout, done.stderr
    bad = run_leerid(["registry", "retention"], {**leerid_env, "LEERID_RETENTION_GRACE": "30"})
    assert bad.returncode == 2 and "LEERID_RETENTION_GRACE='30'" in bad.stderr
    assert "Traceback" not in bad.stderr


def _count(engine: Engine, table: str, column: str, keys: list[object]) -> int:
    names = ", ".join(f":k{i}" for i in range(len(keys)))
    with engine.connect() as conn:
        return int(
            conn.scalar(
                text(f"SELECT COUNT(*) FROM {table} WHERE {column} IN ({names})"),
                {f"k{i}": k for i, k in enumerate(keys)},
            )
            or 0
        )


def _insz(engine: Engine, pupil_id: int) -> str | None:
    with engine.connect() as conn:
        value = conn.scalar(text("SELECT insz FROM pupil WHERE id = :i"), {"i": pupil_id})
    return None if value is None else str(value)


def _leer_id(session: Session, pupil_id: int) -> str:
    value = session.scalar(text("SELECT leer_id_uuid FROM pupil WHERE id = :i"), {"i": pupil_id})
    assert value is not None
    return str(value)
