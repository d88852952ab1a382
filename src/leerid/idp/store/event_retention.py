"""How long DOV keeps its SETs and its change feed (issue 10, point 3; art. 11, last paragraph).

- an acknowledged (or rejected) SET: 30 days after the recipient answered;
- an unacknowledged SET: 90 days after it was made (a recipient down that long has lost it;
  each one dropped is counted and logged, by client and event type, without personal data);
- a ``dov_change`` row: once the publisher passed it and it is 90 days old.

Deleted in batches of at most 1,000 rows, each in its own short transaction, so logins and
polls are never held up behind one long delete (as the recipient's purge does).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Select, delete, select
from sqlalchemy.orm import InstrumentedAttribute

from leerid.idp.store.events import ACKED, ERROR, PENDING, PUBLISHER, EventCursor, SecurityEvent
from leerid.registry.changes import DovChange

__all__ = ["ACKED_DAYS", "BATCH", "PENDING_DAYS", "Purged", "purge_events"]

ACKED_DAYS = 30
PENDING_DAYS = 90
BATCH = 1000
log = logging.getLogger("leerid.idp.events")


@dataclass(frozen=True)
class Purged:
    """What one purge deleted."""

    acknowledged: int
    unacknowledged: int
    changes: int
    unacknowledged_by_client: dict[str, int]


def _batches(engine: Engine, query: Select[Any], key: InstrumentedAttribute[int]) -> int:
    """Delete the rows ``query`` selects (by ``key``), ``BATCH`` at a time; how many."""
    done = 0
    while True:
        with engine.begin() as conn:
            ids = list(conn.execute(query).scalars())
            if not ids:
                return done
            conn.execute(delete(key.class_).where(key.in_(ids)))
        done += len(ids)


def purge_events(engine: Engine, now: dt.datetime | None = None) -> Purged:
    """Delete what is kept no longer (see the module); the counts."""
    now = now or dt.datetime.now(dt.UTC)
    answered = now - dt.timedelta(days=ACKED_DAYS)
    stale = now - dt.timedelta(days=PENDING_DAYS)
    ev = SecurityEvent
    acked = _batches(
        engine,
        select(ev.id).where(ev.state.in_((ACKED, ERROR)), ev.acked_at < answered).limit(BATCH),
        ev.id,
    )
    lost: Counter[str] = Counter()
    with engine.connect() as conn:
        for (client_id,) in conn.execute(
            select(ev.client_id).where(ev.state == PENDING, ev.created_at < stale)
        ):
            lost[client_id] += 1
    for client_id, count in sorted(lost.items()):
        log.warning(
            "dropping %d SETs client %s never acknowledged in %d days",
            count,
            client_id,
            PENDING_DAYS,
        )
    pending = _batches(
        engine,
        select(ev.id).where(ev.state == PENDING, ev.created_at < stale).limit(BATCH),
        ev.id,
    )
    cursor = select(EventCursor.last_change_id).where(EventCursor.name == PUBLISHER)
    changes = _batches(
        engine,
        select(DovChange.id)
        .where(DovChange.id <= cursor.scalar_subquery(), DovChange.at < stale)
        .limit(BATCH),
        DovChange.id,
    )
    return Purged(acked, pending, changes, dict(lost))
