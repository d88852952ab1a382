"""Retention: what DOV disclosed about inactive pupils is deleted after the protocol's period,
in small batches; the CLB's own dossier is kept under its internal key (``dossier``).

Art. 3: "De meegedeelde gegevens zullen door de Dienstenleverancier gedurende 3 jaar worden
bewaard [...] Het inactieve account wordt verwijderd na een periode van 3 jaar."
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, delete, func, select

from leerid.protocol import IsoDuration
from leerid.sp.kit import privacy_log
from leerid.sp.kit.dossier import detach
from leerid.sp.kit.models import PupilRecord
from leerid.store.engine import session_scope

BATCH = 1000  # rows per transaction, so that logins never wait behind a long lock


@dataclass(frozen=True)
class PurgeResult:
    cutoff: dt.datetime
    count: int
    batches: int
    dry_run: bool
    dossiers_kept: int = 0
    reports_kept: int = 0


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
    """Art. 3: delete the disclosed data of inactive pupils after the period, at most ``batch``
    per transaction; their dossiers and reports lose the LeerID key in the same transaction
    and are kept. Each batch writes a receipt (with how many dossiers were kept)."""
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
    total = batches = dossiers = reports = 0
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
            kept = detach(session, keys)
            session.execute(delete(PupilRecord).where(PupilRecord.pupil_key.in_(keys)))
            batches += 1
            total += len(keys)
            dossiers += kept.dossiers
            reports += kept.reports
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
                    "dossiers_bewaard": kept.dossiers,
                    "meldingen_bewaard": kept.reports,
                },
            )
        if len(keys) < batch:
            break
    return PurgeResult(cutoff, total, batches, False, dossiers, reports)
