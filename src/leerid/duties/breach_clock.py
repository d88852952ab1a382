"""Art. 9 and GDPR art. 33: a breach's two clocks, the same for DOV and the recipient.

The supervisory authority (the GBA) is told within 72 hours of discovery (GDPR art. 33.1),
or the register says why it was not needed (art. 33.5); either closes that clock. The other
party's DPO is told "zonder onredelijke vertraging" (protocol art. 9): no fixed deadline, so
the register shows the hours since discovery and whether and when they were told.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

__all__ = [
    "BRUSSELS",
    "STATUSES",
    "WINDOW",
    "BreachClock",
    "BreachFacts",
    "Clocks",
    "aware",
    "belgian",
    "breach_clock",
    "clocks",
]

WINDOW = dt.timedelta(hours=72)  # GDPR art. 33.1: to the authority within 72 hours
STATUSES = ("open", "gemeld", "afgesloten")
BRUSSELS = ZoneInfo("Europe/Brussels")  # times are shown in Belgian time
YEARS = range(2000, 3000)  # a breach's moments lie in these years (else: a typing error)


def belgian(value: dt.datetime, *, strict: bool = False) -> dt.datetime:
    """``value`` as an aware moment: a naive one read as Belgian time (the register's forms
    and CLIs agree). ValueError outside the years 2000-2999; with ``strict`` also for a
    wall time the clock change skips or passes twice (the caller asks for an offset)."""
    if value.year not in YEARS:
        raise ValueError(f"{value.year} lies outside 2000-2999")
    if value.tzinfo is not None:
        return value
    local = value.replace(tzinfo=BRUSSELS)
    if strict:
        back = local.astimezone(dt.UTC).astimezone(BRUSSELS).replace(tzinfo=None)
        if back != value:
            raise ValueError(f"{value:%Y-%m-%d %H:%M} does not exist in Belgian time")
        if local.utcoffset() != local.replace(fold=1).utcoffset():
            raise ValueError(f"{value:%Y-%m-%d %H:%M} occurs twice in Belgian time")
    return local


def aware(moment: dt.datetime) -> dt.datetime:
    """A stored moment as an aware UTC value (SQLite returns naive values)."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


@dataclass(frozen=True)
class BreachClock:
    """GDPR art. 33.1: the authority's deadline (UTC and Brussels) and the hours left."""

    deadline: dt.datetime
    hours_left: float
    overdue: bool

    @property
    def deadline_local(self) -> dt.datetime:
        return self.deadline.astimezone(BRUSSELS)


def breach_clock(discovered_at: dt.datetime, now: dt.datetime) -> BreachClock:
    """GDPR art. 33.1: the 72 hours run from the moment the breach was discovered (72 real
    hours: across a change to or from summer time the wall clock moves 71 or 73 hours)."""
    deadline = aware(discovered_at) + WINDOW
    left = (deadline - aware(now)).total_seconds() / 3600
    return BreachClock(deadline=deadline, hours_left=round(left, 1), overdue=left < 0)


class BreachFacts(Protocol):
    """The columns of a breach row both parties' tables have (sp_breach, idp_breach)."""

    @property
    def discovered_at(self) -> dt.datetime: ...
    @property
    def other_party_notified_at(self) -> dt.datetime | None: ...
    @property
    def authority_notified_at(self) -> dt.datetime | None: ...
    @property
    def authority_reference(self) -> str | None: ...
    @property
    def authority_not_needed(self) -> str | None: ...


@dataclass(frozen=True)
class Clocks:
    """Both clocks of one breach at ``now``."""

    authority: BreachClock
    authority_state: str  # "gemeld", "niet gemeld", "open" or "te laat"
    authority_late: bool  # told, or still open, after the 72 hours (art. 33.1: say why)
    hours_since_discovery: float
    other_party_told_at: dt.datetime | None

    @property
    def authority_closed(self) -> bool:
        return self.authority_state in ("gemeld", "niet gemeld")


def clocks(row: BreachFacts, now: dt.datetime) -> Clocks:
    """Art. 9, GDPR art. 33.1 and 33.5: where a breach stands with the authority and the
    other party's DPO."""
    clock = breach_clock(row.discovered_at, now)
    told = row.authority_notified_at
    if told is not None:
        state, late = "gemeld", aware(told) > clock.deadline
    elif row.authority_not_needed:
        state, late = "niet gemeld", False
    else:
        state, late = ("te laat" if clock.overdue else "open"), clock.overdue
    since = (aware(now) - aware(row.discovered_at)).total_seconds() / 3600
    other = row.other_party_notified_at
    return Clocks(
        authority=clock,
        authority_state=state,
        authority_late=late,
        hours_since_discovery=round(since, 1),
        other_party_told_at=None if other is None else aware(other),
    )
