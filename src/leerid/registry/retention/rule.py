"""DOV's retention rule for pupils, pure: who is due, who is retired, who is deleted (art. 3).

Art. 3 of the protocol: the recipient keeps the data 3 years, refuses access to a person
without an enrolment, and deletes the inactive account after 3 years. DOV mirrors those
three years for the LeerID accounts it keeps itself, for two reasons. First, GDPR art. 5.1.c
and 5.1.e: an account exists to let a pupil of compulsory education log in to the
recipients' applications (preamble C, D), and a person without an enrolment has no such use
for it; three years without one is the period both parties already agreed makes an account
inactive. Second, the parties stay in step: when DOV deletes a pupil, every recipient that
received the pupil's data hears of it (``account-purged``) and may delete its copy too, while
a pupil who comes back to school within the period finds the same accounts at DOV and the
same records at the recipient.

The rule, on the day ``today`` (the day in Brussels, as enrolments are kept in days):

- An enrolment is *running* when its ``einddatum`` is empty or not before ``today`` (an
  enrolment that starts later is running too: the pupil is expected).
- A pupil's *last day* is the latest ``einddatum`` of its enrolments; a pupil that never
  had an enrolment (registrations without any) counts from the day it was first registered
  at DOV, so a registration that never led to an enrolment goes after the same period.
- A pupil is *due* when no enrolment runs and its last day is before ``today`` minus the
  period (``P3Y``): ended on 31 August 2023, due on 1 September 2026, not on 31 August 2026.
- Temporary accounts (unidentified pupils, no INSZ) follow the same rule: the rule is about
  the pupil, and every account of the pupil (permanent, temporary, and the retired ones of
  its ``historiek_account_uuid``) goes with it.

Two stages. A due pupil is first **retired**: none of its accounts logs in (the login form
answers exactly as to a wrong password) and nothing about it is disclosed. After the grace
period (``P30D``) it is **deleted**: registrations, enrolments, accounts, credentials and INSZ
history; a merge audit record keeps only the uuids. What **revives** a retired pupil: the
rule no longer finds it due, that is, an enrolment that runs or ended within the period
(brought by an import, which revives at once in its own transaction, or seen by the next
retention run). Revival clears the retirement; nothing was lost.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

from leerid.protocol import IsoDuration

__all__ = [
    "DEFAULT_GRACE",
    "DEFAULT_PERIOD",
    "PupilFacts",
    "RetentionPolicy",
    "Verdict",
    "brussels_day",
    "cutoff_day",
    "decide",
    "facts_of",
    "is_due",
    "midnight_utc",
]

BRUSSELS = ZoneInfo("Europe/Brussels")
DEFAULT_PERIOD = "P3Y"  # art. 3: "Het inactieve account wordt verwijderd na een periode van 3 jaar"
DEFAULT_GRACE = "P30D"  # GDPR art. 5.1.d: DISCIMUS lags; a late enrolment can still revive
THREE_YEARS = IsoDuration.parse(DEFAULT_PERIOD)
THIRTY_DAYS = IsoDuration.parse(DEFAULT_GRACE)


@dataclass(frozen=True)
class RetentionPolicy:
    """Art. 3: the period without an enrolment after which a pupil is retired, and the grace
    period between its retirement and its deletion."""

    period: IsoDuration = THREE_YEARS
    grace: IsoDuration = THIRTY_DAYS

    def __str__(self) -> str:
        return f"period {self.period}, grace {self.grace}"


@dataclass(frozen=True)
class PupilFacts:
    """What the rule needs of one pupil: nothing about the person, only days."""

    registered_on: dt.date
    """The day (Brussels) DOV first registered the pupil."""
    enrolment_ends: tuple[dt.date | None, ...]
    """The ``einddatum`` of each of its enrolments (None: open)."""
    retired_at: dt.datetime | None = None
    """When the pupil was retired (None: not retired)."""


class Verdict(StrEnum):
    """What a retention run does with a pupil."""

    ACTIVE = "active"  # not due: nothing to do
    RETIRE = "retire"  # due now: retire it (no login, no disclosure)
    WAIT = "wait"  # retired, still due, in its grace period
    REVIVE = "revive"  # retired, no longer due (an enrolment came): revive it
    DELETE = "delete"  # retired, still due, grace period over: delete it


def brussels_day(moment: dt.datetime) -> dt.date:
    """The day in Brussels at ``moment`` (enrolments are kept in days)."""
    return moment.astimezone(BRUSSELS).date()


def midnight_utc(day: dt.date) -> dt.datetime:
    """The start of ``day`` in Brussels, in UTC: ``brussels_day(t) < day`` iff ``t`` < it."""
    return dt.datetime.combine(day, dt.time(), BRUSSELS).astimezone(dt.UTC)


def cutoff_day(period: IsoDuration, today: dt.date) -> dt.date:
    """Art. 3: a last day before this one is more than ``period`` ago (calendar years)."""
    return period.before(dt.datetime.combine(today, dt.time())).date()


def is_due(facts: PupilFacts, today: dt.date, period: IsoDuration) -> bool:
    """Art. 3: no enrolment runs and the last day is more than ``period`` before ``today``."""
    ends = facts.enrolment_ends
    if any(end is None or end >= today for end in ends):
        return False  # an enrolment runs (or starts later)
    last = max((end for end in ends if end is not None), default=facts.registered_on)
    return last < cutoff_day(period, today)


def decide(facts: PupilFacts, now: dt.datetime, policy: RetentionPolicy) -> Verdict:
    """The stage of one pupil at ``now``: retire, wait, revive, delete or nothing."""
    due = is_due(facts, brussels_day(now), policy.period)
    if facts.retired_at is None:
        return Verdict.RETIRE if due else Verdict.ACTIVE
    if not due:
        return Verdict.REVIVE
    if policy.grace.after(facts.retired_at) <= now:
        return Verdict.DELETE
    return Verdict.WAIT


def facts_of(
    registered_at: dt.datetime,
    enrolments: Sequence[tuple[bool, dt.date | None]],
    retired_at: dt.datetime | None,
) -> PupilFacts:
    """Facts from database values: ``enrolments`` as (exists, einddatum) pairs of an outer
    join (a registration without an enrolment gives ``(False, None)``); SQLite hands back
    naive times, which are UTC."""

    def aware(moment: dt.datetime) -> dt.datetime:
        return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)

    return PupilFacts(
        registered_on=brussels_day(aware(registered_at)),
        enrolment_ends=tuple(end for exists, end in enrolments if exists),
        retired_at=None if retired_at is None else aware(retired_at),
    )
