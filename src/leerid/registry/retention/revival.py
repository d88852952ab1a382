"""The import revives a retired pupil at once when it brings an enrolment that makes the pupil
no longer due (``rule.py``): running, or ended within the retention period (art. 3)."""

from __future__ import annotations

import datetime as dt

from leerid.registry.bulk import BulkConnection
from leerid.registry.retention.rule import cutoff_day
from leerid.registry.retention.settings import policy_from_env

__all__ = ["REVIVE", "revive_enrolled"]

REVIVE = (
    "UPDATE pupil SET retired_at = NULL WHERE retired_at IS NOT NULL AND EXISTS ("
    "SELECT 1 FROM registration r JOIN enrolment e ON e.referte = r.referte "
    "WHERE r.pupil_id = pupil.id AND (e.einddatum IS NULL OR e.einddatum >= ?))"
)
"""``not rule.is_due`` for a pupil with an enrolment (a retired pupil was registered long
ago, so only an enrolment can revive it); the partial index on ``retired_at`` keeps it to
the retired pupils."""


def revive_enrolled(db: BulkConnection, today: dt.date) -> None:
    """In the import's transaction: clear the retirement of every retired pupil that has an
    enrolment running or ended on or after the cutoff day (``LEERID_RETENTION_PUPILS``)."""
    cutoff = cutoff_day(policy_from_env().period, today)
    db.execute(REVIVE, (db.value(cutoff),))
