"""Who polls the Department now, and when the last sync succeeded (one row, shared by every
portal process and ``leerid sp sync``); the witness of DOV's log holds its rounds the same
way, on a row of its own (``log_tables.WitnessState``).

A poll holds a lease: a conditional UPDATE that succeeds for one process only, so two
workers never fetch and apply the same batch at once (the ``jti`` table's unique key is the
last guard). A lease that was not released (a process killed mid-poll) expires by itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, or_, select, update

from leerid.sp.kit.log_tables import WitnessState
from leerid.sp.kit.models import EventsState
from leerid.store.engine import session_scope

LEASE = dt.timedelta(minutes=5)
State = type[EventsState] | type[WitnessState]
"""A table of one lease row (id 1): the events poll's or the log witness's."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)  # SQLite keeps no offset; we write UTC


def take_lease(
    engine: Engine, holder: str, now: dt.datetime | None = None, state: State = EventsState
) -> bool:
    """True when ``holder`` may poll now (no other holder's lease is running)."""
    now = now or _now()
    with session_scope(engine) as session:
        taken = session.execute(
            update(state)
            .where(
                state.id == 1,
                or_(
                    state.lease_until.is_(None),
                    state.lease_until < now,
                    state.lease_holder == holder,
                ),
            )
            .values(lease_holder=holder, lease_until=now + LEASE, last_attempt_at=now)
        )
        return bool(getattr(taken, "rowcount", 0))


def release(engine: Engine, holder: str, *, error: str | None, state: State = EventsState) -> None:
    """End ``holder``'s lease; record the success (its time) or the failure (its reason,
    which names no pupil)."""
    values: dict[str, object] = {"lease_holder": None, "lease_until": None}
    if error is None:
        values.update(last_success_at=_now(), last_error=None)
    else:
        values["last_error"] = error[:400]
    with session_scope(engine) as session:
        session.execute(
            update(state).where(state.id == 1, state.lease_holder == holder).values(**values)
        )


@dataclass(frozen=True)
class SyncStatus:
    last_attempt_at: dt.datetime | None
    last_success_at: dt.datetime | None
    last_error: str | None


def sync_status(engine: Engine, state: State = EventsState) -> SyncStatus:
    """The last attempt, the last success and the last failure's reason."""
    with session_scope(engine) as session:
        row = session.execute(
            select(state.last_attempt_at, state.last_success_at, state.last_error).where(
                state.id == 1
            )
        ).first()
        if row is None:
            return SyncStatus(None, None, None)
        return SyncStatus(_aware(row[0]), _aware(row[1]), row[2])
