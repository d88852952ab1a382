"""The CLB's own dossier: its internal key and its own retention, apart from art. 3's.

Art. 3 ("De meegedeelde gegevens zullen door de Dienstenleverancier gedurende 3 jaar worden
bewaard") binds what DOV disclosed; the dossier is what the CLB itself records. Each pupil's
entries share a ``dossier_key`` (a random UUID, assigned at the first entry, never derived
from a LeerID key). The three-year purge ``detach``-es the dossier from the LeerID key; the
dossier is deleted only when its own retention (``[dossier.retention.TYPE]``, with the
CLB's legal rule cited) has passed, in batches, each with a receipt in the privacy log.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.orm import Session

from leerid.sp.kit import privacy_log
from leerid.sp.kit.dossier_settings import REPORT_TYPES, DossierSettings
from leerid.sp.kit.models import DossierEntry, DovReport, QualityReport
from leerid.store import bulk
from leerid.store.engine import session_scope

BATCH = 1000
NO_RETENTION = "no retention configured"
_NO_SYNC = {"synchronize_session": False}
KEYED = (DossierEntry, QualityReport, DovReport)
"""The CLB's own records under a pupil's LeerID key: they move along at a merge or an
identification and lose the key at a deletion (art. 3)."""


def dossier_key_for(session: Session, pupil_key: str) -> str:
    """The pupil's dossier key: that of their first entry, or a new random UUID."""
    found = session.scalars(
        select(DossierEntry.dossier_key)
        .where(DossierEntry.pupil_key == pupil_key)
        .order_by(DossierEntry.id)
        .limit(1)
    ).first()
    return found or str(uuid.uuid4())


def unify(session: Session, pupil_keys: Collection[str]) -> None:
    """Art. 3 (merge, identification): when two dossiers meet under one pupil, every entry
    takes the key of the pupil's oldest entry, so one pupil has one dossier (and one period)."""
    for condition in bulk.keys_in(session, DossierEntry.pupil_key, sorted(pupil_keys)):
        first = (
            select(DossierEntry.pupil_key, func.min(DossierEntry.id).label("first"))
            .where(condition)
            .group_by(DossierEntry.pupil_key)
            .having(func.count(DossierEntry.dossier_key.distinct()) > 1)
            .subquery()
        )
        rows = session.execute(
            select(first.c.pupil_key, DossierEntry.dossier_key).join(
                DossierEntry, DossierEntry.id == first.c.first
            )
        ).all()
        for pupil_key, dossier_key in rows:
            session.execute(
                update(DossierEntry)
                .where(
                    DossierEntry.pupil_key == pupil_key,
                    DossierEntry.dossier_key != dossier_key,
                )
                .values(dossier_key=dossier_key),
                execution_options=_NO_SYNC,
            )


@dataclass(frozen=True)
class Detached:
    dossiers: int
    reports: int


def detach(session: Session, pupil_keys: Sequence[str]) -> Detached:
    """Art. 3: the pupils' dossiers and reports lose the LeerID key (same transaction as the
    deletion of the disclosed data); the dossiers stay under their dossier key."""
    dossiers: set[str] = set()
    reports = 0
    for condition in bulk.keys_in(session, DossierEntry.pupil_key, list(pupil_keys)):
        dossiers.update(session.scalars(select(DossierEntry.dossier_key).where(condition)))
        session.execute(
            update(DossierEntry).where(condition).values(pupil_key=None),
            execution_options=_NO_SYNC,
        )
    for table in (QualityReport, DovReport):
        for condition in bulk.keys_in(session, table.pupil_key, list(pupil_keys)):
            done = session.execute(
                update(table).where(condition).values(pupil_key=None),
                execution_options=_NO_SYNC,
            )
            reports += int(getattr(done, "rowcount", 0) or 0)
    return Detached(len(dossiers), reports)


@dataclass
class DossierPurgeResult:
    """Per record type: entries (or reports) deleted, or kept for want of a retention."""

    dry_run: bool
    deleted: dict[str, int] = field(default_factory=dict)
    dossiers: int = 0
    batches: int = 0
    unconfigured: dict[str, int] = field(default_factory=dict)


def _expired_entries(record_type: str, cutoff: dt.datetime, limit: int) -> Any:
    """Entries of ``record_type`` in dossiers whose last entry (any type) is before cutoff."""
    last = (
        select(DossierEntry.dossier_key)
        .group_by(DossierEntry.dossier_key)
        .having(func.max(DossierEntry.created_at) < cutoff)
    )
    return (
        select(DossierEntry.id, DossierEntry.dossier_key)
        .where(DossierEntry.record_type == record_type, DossierEntry.dossier_key.in_(last))
        .order_by(DossierEntry.id)
        .limit(limit)
    )


def _expired_reports(record_type: str, cutoff: dt.datetime, limit: int) -> Any:
    """Art. 7 reports whose last change is before ``cutoff``."""
    if record_type == "kwaliteitsmelding":
        return (
            select(QualityReport.id)
            .where(QualityReport.updated_at < cutoff)
            .order_by(QualityReport.id)
            .limit(limit)
        )
    changed = func.coalesce(DovReport.answered_at, DovReport.received_at)
    return select(DovReport.id).where(changed < cutoff).order_by(DovReport.id).limit(limit)


def _receipt(session: Session, record_type: str, count: int, keys: set[str], rule: str) -> None:
    privacy_log.append(
        session,
        actor="systeem",
        action="dossier_bewaartermijn_verwijdering",
        purpose="bewaartermijn van het eigen dossier verstreken (eigen regel van het CLB)",
        detail={
            "per_soort": {record_type: count},
            "dossiers_sha256": sorted(privacy_log.hash_key(k) for k in keys),
            "regel": rule[:200],
        },
    )


def _purge_type(
    engine: Engine, record_type: str, cutoff: dt.datetime, rule: str, batch: int
) -> tuple[int, set[str], int]:
    """Delete one record type's expired rows, ``batch`` per transaction, each with a receipt."""
    total, batches, keys = 0, 0, set[str]()
    is_report = record_type in REPORT_TYPES
    while True:
        with session_scope(engine) as session:
            if is_report:
                table: Any = QualityReport if record_type == "kwaliteitsmelding" else DovReport
                ids = list(session.scalars(_expired_reports(record_type, cutoff, batch)))
                part: set[str] = set()
            else:
                table = DossierEntry
                rows = session.execute(_expired_entries(record_type, cutoff, batch)).all()
                ids, part = [r.id for r in rows], {r.dossier_key for r in rows}
            if not ids:
                break
            session.execute(delete(table).where(table.id.in_(ids)), execution_options=_NO_SYNC)
            _receipt(session, record_type, len(ids), part, rule)
        total, batches, keys = total + len(ids), batches + 1, keys | part
        if len(ids) < batch:
            break
    return total, keys, batches


def _present(session: Session) -> dict[str, int]:
    """How many entries (or reports) of each record type are held now."""
    grouped = select(DossierEntry.record_type, func.count()).group_by(DossierEntry.record_type)
    counts = {kind: count for kind, count in session.execute(grouped).all()}
    counts["kwaliteitsmelding"] = session.scalar(select(func.count(QualityReport.id))) or 0
    counts["dov_melding"] = session.scalar(select(func.count(DovReport.id))) or 0
    return {k: int(v) for k, v in counts.items() if v}


def _would_delete(session: Session, record_type: str, cutoff: dt.datetime) -> int:
    query = (
        _expired_reports(record_type, cutoff, 10**9)
        if record_type in REPORT_TYPES
        else _expired_entries(record_type, cutoff, 10**9)
    )
    return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)


def purge(
    engine: Engine,
    settings: DossierSettings,
    *,
    now: dt.datetime | None = None,
    dry_run: bool = False,
    batch: int = BATCH,
) -> DossierPurgeResult:
    """The dossier's own retention: delete what passed its type's period; a type without a
    configured retention is kept and reported (never deleted silently)."""
    now = now or dt.datetime.now(dt.UTC)
    result = DossierPurgeResult(dry_run)
    with session_scope(engine) as session:
        present = _present(session)
        if dry_run:
            for retention in settings.retention:
                cutoff = retention.keep.before(now)
                result.deleted[retention.record_type] = _would_delete(
                    session, retention.record_type, cutoff
                )
    result.unconfigured = {
        k: v for k, v in sorted(present.items()) if settings.retention_of(k) is None
    }
    if dry_run:
        return result
    gone: set[str] = set()
    for retention in settings.retention:
        cutoff = retention.keep.before(now)
        count, keys, batches = _purge_type(
            engine, retention.record_type, cutoff, retention.rule, batch
        )
        result.deleted[retention.record_type] = count
        result.batches += batches
        gone |= keys
    left: set[str] = set()
    with session_scope(engine) as session:
        for condition in bulk.keys_in(session, DossierEntry.dossier_key, sorted(gone)):
            left.update(session.scalars(select(DossierEntry.dossier_key).where(condition)))
    result.dossiers = len(gone - left)
    return result
