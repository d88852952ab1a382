"""The retention rule's statements: candidates, facts, locks and the deletion of a batch.

The candidate query is the rule of ``rule.py`` in SQL (a property test holds the two equal);
every decision is taken again by ``rule.decide`` on the facts read under the batch's lock, so
the SQL only narrows the search.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    and_,
    delete,
    exists,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from leerid.registry.changes import Change, ChangeKind, record_changes
from leerid.registry.models import (
    Account,
    Credential,
    Enrolment,
    EnrolmentDigest,
    InszHistory,
    MergeRecord,
    Pupil,
    Registration,
)
from leerid.registry.retention.rule import (
    PupilFacts,
    RetentionPolicy,
    brussels_day,
    cutoff_day,
    facts_of,
    midnight_utc,
)

__all__ = [
    "SCRUBBED_REASON",
    "delete_pupils",
    "due_condition",
    "load_facts",
    "lock_pupils",
    "retire_candidates",
    "retired_pupils",
]

SCRUBBED_REASON = "(removed: the pupils' retention period ended)"
"""A merge audit record of a deleted pupil keeps only the uuids, the time and the operator:
its free-text reason may name the pupil."""


def _enrolment_of_pupil(*where: ColumnElement[bool]) -> Any:
    return exists(
        select(Enrolment.id)
        .join(Registration, Registration.referte == Enrolment.referte)
        .where(Registration.pupil_id == Pupil.id, *where)
    )


def due_condition(policy: RetentionPolicy, now: dt.datetime) -> ColumnElement[bool]:
    """``rule.is_due`` in SQL: no enrolment running or ended on or after the cutoff day, and
    (having had an enrolment, or registered before the cutoff day)."""
    cutoff = cutoff_day(policy.period, brussels_day(now))
    recent = _enrolment_of_pupil(or_(Enrolment.einddatum.is_(None), Enrolment.einddatum >= cutoff))
    return and_(
        not_(recent),
        or_(_enrolment_of_pupil(), Pupil.created_at < midnight_utc(cutoff)),
    )


def retire_candidates(
    policy: RetentionPolicy, now: dt.datetime, after: int, limit: int
) -> Select[Any]:
    """Active pupils the rule finds due, in id order from ``after`` (a key range: no lock)."""
    return (
        select(Pupil.id)
        .where(Pupil.retired_at.is_(None), Pupil.id > after, due_condition(policy, now))
        .order_by(Pupil.id)
        .limit(limit)
    )


def retired_pupils(after: int, limit: int, *, lock: bool) -> Select[Any]:
    """Retired pupils in id order from ``after``; with ``lock`` (PostgreSQL) each row is
    locked, and rows another run holds are skipped (``FOR UPDATE SKIP LOCKED``)."""
    query = (
        select(Pupil.id)
        .where(Pupil.retired_at.is_not(None), Pupil.id > after)
        .order_by(Pupil.id)
        .limit(limit)
    )
    return query.with_for_update(skip_locked=True) if lock else query


def lock_pupils(conn: Connection, ids: Sequence[int]) -> list[int]:
    """Those of ``ids`` this transaction now holds (PostgreSQL: row locks, waiting behind an
    import's table lock; SQLite: the write transaction holds the whole database)."""
    query = select(Pupil.id).where(Pupil.id.in_(ids)).order_by(Pupil.id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(conn.scalars(query))


def load_facts(conn: Connection, ids: Sequence[int]) -> dict[int, PupilFacts]:
    """The rule's facts of each pupil of ``ids``, read in one statement."""
    rows = conn.execute(
        select(Pupil.id, Pupil.created_at, Pupil.retired_at, Enrolment.id, Enrolment.einddatum)
        .select_from(Pupil)
        .outerjoin(Registration, Registration.pupil_id == Pupil.id)
        .outerjoin(Enrolment, Enrolment.referte == Registration.referte)
        .where(Pupil.id.in_(ids))
    ).all()
    found: dict[int, tuple[dt.datetime, dt.datetime | None]] = {}
    enrolments: dict[int, list[tuple[bool, dt.date | None]]] = defaultdict(list)
    for pupil_id, created_at, retired_at, enrolment_id, einddatum in rows:
        found[pupil_id] = (created_at, retired_at)
        enrolments[pupil_id].append((enrolment_id is not None, einddatum))
    return {
        pid: facts_of(created, enrolments[pid], retired)
        for pid, (created, retired) in found.items()
    }


def delete_pupils(conn: Connection, ids: Sequence[int], account_tables: Sequence[Table]) -> int:
    """Delete the pupils ``ids`` and every row of theirs; one ``ACCOUNT_PURGED`` change per
    pupil with all its account uuids, in this transaction. The number of accounts deleted.

    ``account_tables``: the provider's tables with an ``account_uuid`` column whose rows go
    with the accounts (activation codes, grants; ``leerid.schema.ACCOUNT_TABLES``).
    """
    if not ids:
        return 0
    accounts: dict[int, list[str]] = defaultdict(list)
    for account_uuid, pupil_id in conn.execute(
        select(Account.account_uuid, Account.pupil_id).where(Account.pupil_id.in_(ids))
    ):
        accounts[pupil_id].append(account_uuid)
    leer_ids: dict[int, str | None] = {
        pid: leer_id
        for pid, leer_id in conn.execute(
            select(Pupil.id, Pupil.leer_id_uuid).where(Pupil.id.in_(ids))
        )
    }
    uuids = [a for group in accounts.values() for a in group]
    owned = select(Account.account_uuid).where(Account.pupil_id.in_(ids))
    refertes = select(Registration.referte).where(Registration.pupil_id.in_(ids))
    for table in account_tables:
        conn.execute(delete(table).where(table.c.account_uuid.in_(owned)))
    conn.execute(delete(Credential).where(Credential.account_uuid.in_(owned)))
    conn.execute(delete(Account).where(Account.pupil_id.in_(ids)))
    conn.execute(delete(Enrolment).where(Enrolment.referte.in_(refertes)))
    conn.execute(delete(EnrolmentDigest).where(EnrolmentDigest.referte.in_(refertes)))
    conn.execute(delete(Registration).where(Registration.pupil_id.in_(ids)))
    conn.execute(delete(InszHistory).where(InszHistory.pupil_id.in_(ids)))
    identified = [u for u in leer_ids.values() if u is not None]
    if identified:
        conn.execute(
            update(MergeRecord)
            .where(
                or_(
                    MergeRecord.kept_leer_id_uuid.in_(identified),
                    MergeRecord.absorbed_leer_id_uuid.in_(identified),
                )
            )
            .values(reason=SCRUBBED_REASON)
        )
    conn.execute(delete(Pupil).where(Pupil.id.in_(ids)))
    changes = [
        _purged(leer_ids.get(pid), accounts[pid])
        for pid in ids
        if leer_ids.get(pid) or accounts[pid]  # with neither, nobody can have received it
    ]
    with Session(bind=conn) as session:  # in this connection's transaction
        record_changes(session, changes)
    return len(uuids)


def _purged(leer_id_uuid: str | None, account_uuids: list[str]) -> Change:
    """Art. 3: the recipients that received the pupil hear that DOV deleted it."""
    uuids = sorted(account_uuids)
    return Change(
        kind=ChangeKind.ACCOUNT_PURGED,
        leer_id_uuid=leer_id_uuid,
        account_uuids=tuple(uuids),
        payload={"leer_id_uuid": leer_id_uuid, "account_uuids": uuids},
    )
