"""The log's state at a glance: size, root, pending entries, integrator, newest checkpoint.

Read by every node's integrator loop for the gauges (``leerid_tlog_*``) and by ``leerid log
checkpoint``; no entry, no personal data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from leerid.idp.store.tlog.checkpoints import StoredCheckpoint, aware, newest_checkpoint
from leerid.idp.store.tlog.tables import TlogEntry, TlogState

__all__ = ["LogStatus", "log_status"]


@dataclass(frozen=True)
class LogStatus:
    """The integrated tree, what waits, who integrates, and the newest checkpoint."""

    size: int
    root: bytes
    pending: int
    integrator: str | None
    lease_until: dt.datetime | None
    integrated_at: dt.datetime | None
    checkpoint: StoredCheckpoint | None


def log_status(conn: Connection) -> LogStatus:
    """The status row, the count of pending entries and the newest checkpoint."""
    state = conn.execute(select(TlogState).where(TlogState.id == 1)).one()
    pending = conn.execute(
        select(func.count()).select_from(TlogEntry).where(TlogEntry.idx.is_(None))
    ).scalar_one()
    return LogStatus(
        size=int(state.size),
        root=bytes(state.root),
        pending=int(pending),
        integrator=state.integrator,
        lease_until=None if state.lease_until is None else aware(state.lease_until),
        integrated_at=None if state.integrated_at is None else aware(state.integrated_at),
        checkpoint=newest_checkpoint(conn),
    )
