"""Retention: inactive pupils are deleted after the protocol's period, in small batches."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, delete, func, select

from leerid.protocol import IsoDuration
from leerid.sp.kit import privacy_log
from leerid.sp.kit.models import DossierEntry, PupilRecord, QualityReport
from leerid.store.engine import session_scope

BATCH = 1000  # rows per transaction, so that logins never wait behind a long lock


@dataclass(frozen=True)
class PurgeResult:
    cutoff: dt.datetime
    count: int
    batches: int
    dry_run: bool


def retention_cutoff(period: IsoDuration, now: dt.datetime) -> dt.datetime:
    """Art. 3: a pupil whose last login is before this moment is inactive for the period."""
    return period.before(now)


def purge(
    engine: Engine,
    period: IsoDuration,
    *,
    now: dt.datetime | None = None,
    dry_run: bool = False,
    batch: int = BATCH,
) -> PurgeResult:
    """Art. 3: delete inactive pupils (and all linked to them) after the period, at most
    ``batch`` rows per transaction; each batch writes a deletion receipt to the privacy log."""
    now = now or dt.datetime.now(dt.UTC)
    cutoff = retention_cutoff(period, now)
    if dry_run:
        with session_scope(engine) as session:
            count = session.scalar(
                select(func.count())
                .select_from(PupilRecord)
                .where(PupilRecord.last_login_at < cutoff)
            )
        return PurgeResult(cutoff, int(count or 0), 0, True)
    total = batches = 0
    while True:
        with session_scope(engine) as session:
            keys = list(
                session.scalars(
                    select(PupilRecord.pupil_key)
                    .where(PupilRecord.last_login_at < cutoff)
                    .order_by(PupilRecord.last_login_at)
                    .limit(batch)
                )
            )
            if not keys:
                break
            session.execute(delete(DossierEntry).where(DossierEntry.pupil_key.in_(keys)))
            session.execute(delete(QualityReport).where(QualityReport.pupil_key.in_(keys)))
            session.execute(delete(PupilRecord).where(PupilRecord.pupil_key.in_(keys)))
            batches += 1
            total += len(keys)
            privacy_log.append(
                session,
                actor="systeem",
                action="bewaartermijn_verwijdering",
                purpose="art. 3: inactieve accounts verwijderd na de bewaartermijn",
                detail={
                    "aantal": len(keys),
                    "grens": cutoff.isoformat(),
                    "periode": str(period),
                    "sleutels_sha256": sorted(privacy_log.hash_key(k) for k in keys),
                },
            )
        if len(keys) < batch:
            break
    return PurgeResult(cutoff, total, batches, False)
