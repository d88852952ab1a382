"""The console's disclosure and login figures (issue 13): read from the counts, not the log.

- Disclosures per day and client: ``idp_disclosure_day`` (kept by the integrator,
  ``disclosure_counts``); a year of twenty clients is some ten thousand rows however many
  millions of disclosures they count.
- Logins per hour: ``idp_disclosure_hour``, the ID tokens the token endpoint released.
- Refused logins by reason: refused logins have no log entry, so no count; they are counted
  live in ``idp_disclosure`` over at most :data:`MAX_REFUSED_DAYS` days, a range scan of the
  index ``ix_idp_disclosure_outcome_at`` (outcome, at).
- The records themselves (``lijnen.csv``): streamed, at most :data:`MAX_LINES`, with no pupil
  identifier (no ``leer_id_uuid``, ``account_uuid`` or leaf hash).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Engine, and_, func, select

from leerid.idp.store.console.disclosure_counts import brussels_day, hour_column, hour_value
from leerid.idp.store.console_tables import DisclosureDay, DisclosureHour
from leerid.idp.store.models import Disclosure
from leerid.protocol.lifecycle import BRUSSELS

__all__ = [
    "LOGIN_ENDPOINT",
    "MAX_LINES",
    "MAX_REFUSED_DAYS",
    "DisclosureFilter",
    "DisclosureLine",
    "brussels_start",
    "disclosure_lines",
    "logins_per_hour",
    "per_day_per_client",
    "protocols_seen",
    "refused_logins",
]

MAX_LINES = 100_000
"""At most this many records in one ``lijnen.csv`` (a narrower filter gives the rest)."""
MAX_REFUSED_DAYS = 31
"""The refused logins are counted live: at most this many days at once."""
LOGIN_ENDPOINT = "token"
"""A login that succeeded ends in an ID token from the token endpoint (a refused one is
recorded under ``login``)."""


@dataclass(frozen=True)
class DisclosureFilter:
    """What the disclosures page shows: Brussels days ``start`` .. ``end`` (both included)."""

    start: dt.date
    end: dt.date
    client_id: str | None = None
    protocol_id: str | None = None  # "" for disclosures without a protocol
    outcome: str | None = None  # released | refused


@dataclass(frozen=True)
class DisclosureLine:
    """One record as ``lijnen.csv`` gives it: no pupil identifier."""

    at: dt.datetime
    client_id: str
    protocol_id: str
    endpoint: str
    claims: str
    outcome: str
    reason: str


def brussels_start(day: dt.date) -> dt.datetime:
    """The first moment (UTC) of a Brussels day."""
    return dt.datetime.combine(day, dt.time(0), BRUSSELS).astimezone(dt.UTC)


def _day_where(flt: DisclosureFilter) -> list[ColumnElement[bool]]:
    where = [DisclosureDay.day >= flt.start, DisclosureDay.day <= flt.end]
    if flt.client_id is not None:
        where.append(DisclosureDay.client_id == flt.client_id)
    if flt.protocol_id is not None:
        where.append(DisclosureDay.protocol_id == flt.protocol_id)
    if flt.outcome is not None:
        where.append(DisclosureDay.outcome == flt.outcome)
    return where


def per_day_per_client(engine: Engine, flt: DisclosureFilter) -> list[tuple[dt.date, str, int]]:
    """(day, client, disclosures) for the filter, by day then client; days without any
    disclosure are absent."""
    total = func.sum(DisclosureDay.count)
    query = (
        select(DisclosureDay.day, DisclosureDay.client_id, total)
        .where(*_day_where(flt))
        .group_by(DisclosureDay.day, DisclosureDay.client_id)
        .order_by(DisclosureDay.day, DisclosureDay.client_id)
    )
    with engine.connect() as conn:
        return [(_date(day), str(client), int(n)) for day, client, n in conn.execute(query)]


def protocols_seen(engine: Engine, start: dt.date, end: dt.date) -> list[str]:
    """The protocols disclosures were made under between ``start`` and ``end``."""
    query = (
        select(DisclosureDay.protocol_id)
        .where(DisclosureDay.day >= start, DisclosureDay.day <= end)
        .distinct()
        .order_by(DisclosureDay.protocol_id)
    )
    with engine.connect() as conn:
        return [str(p) for (p,) in conn.execute(query)]


def logins_per_hour(engine: Engine, day: dt.date) -> list[tuple[dt.datetime, str, int]]:
    """(UTC hour, client, logins) over the Brussels ``day`` (23, 24 or 25 hours)."""
    start, end = brussels_start(day), brussels_start(day + dt.timedelta(days=1))
    total = func.sum(DisclosureHour.count)
    query = (
        select(DisclosureHour.hour, DisclosureHour.client_id, total)
        .where(
            DisclosureHour.hour >= start,
            DisclosureHour.hour < end,
            DisclosureHour.endpoint == LOGIN_ENDPOINT,
            DisclosureHour.outcome == "released",
        )
        .group_by(DisclosureHour.hour, DisclosureHour.client_id)
        .order_by(DisclosureHour.hour, DisclosureHour.client_id)
    )
    with engine.connect() as conn:
        return [(hour_value(h), str(c), int(n)) for h, c, n in conn.execute(query)]


def refused_logins(engine: Engine, start: dt.date, end: dt.date) -> Counter[tuple[dt.date, str]]:
    """(Brussels day, reason) → refused logins, counted live (at most 31 days: the caller
    checks), grouped per UTC hour in the database (the hour decides the Brussels day)."""
    hour = hour_column(engine.dialect.name).label("hour")
    reason = func.coalesce(Disclosure.reason, "").label("reason")
    query = (
        select(hour, reason, func.count())
        .where(
            Disclosure.outcome == "refused",
            Disclosure.at >= brussels_start(start),
            Disclosure.at < brussels_start(end + dt.timedelta(days=1)),
            Disclosure.endpoint == "login",
        )
        .group_by(hour, reason)
    )
    counts: Counter[tuple[dt.date, str]] = Counter()
    with engine.connect() as conn:
        for h, why, n in conn.execute(query):
            counts[(brussels_day(hour_value(h)), str(why))] += int(n)
    return counts


def disclosure_lines(engine: Engine, flt: DisclosureFilter) -> Iterator[DisclosureLine]:
    """The records the filter counts, oldest first, at most :data:`MAX_LINES`, streamed from
    the database (refused logins are not disclosures and are left out, as in the counts)."""
    where: list[ColumnElement[bool]] = [
        Disclosure.at >= brussels_start(flt.start),
        Disclosure.at < brussels_start(flt.end + dt.timedelta(days=1)),
        ~and_(Disclosure.endpoint == "login", Disclosure.outcome == "refused"),
    ]
    if flt.client_id is not None:
        where.append(Disclosure.client_id == flt.client_id)
    if flt.protocol_id is not None:
        where.append(func.coalesce(Disclosure.protocol_id, "") == flt.protocol_id)
    if flt.outcome is not None:
        where.append(Disclosure.outcome == flt.outcome)
    query = (
        select(
            Disclosure.at,
            Disclosure.client_id,
            Disclosure.protocol_id,
            Disclosure.endpoint,
            Disclosure.claims,
            Disclosure.outcome,
            Disclosure.reason,
        )
        .where(*where)
        .order_by(Disclosure.at, Disclosure.id)
        .limit(MAX_LINES)
    )
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=2000).execute(query)
        for at, client, protocol, endpoint, claims, outcome, reason in result:
            yield DisclosureLine(
                at=at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at,
                client_id=str(client),
                protocol_id=str(protocol or ""),
                endpoint=str(endpoint),
                claims=str(claims or ""),
                outcome=str(outcome),
                reason=str(reason or ""),
            )


def _date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))
