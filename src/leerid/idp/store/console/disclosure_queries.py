"""The console's disclosure and login figures (issue 13): read from the counts, not the log.

- Disclosures per day and client: ``idp_disclosure_day`` (kept by the integrator,
  ``disclosure_counts``); a year of twenty clients is some ten thousand rows however many
  millions of disclosures they count.
- Logins per hour: ``idp_disclosure_hour``, the ID tokens the token endpoint released.
- Refused logins by reason: refused logins have no log entry, so no count; they are counted
  live in ``idp_disclosure`` over at most :data:`MAX_REFUSED_DAYS` days, a range scan of the
  index ``ix_idp_disclosure_outcome_at`` (outcome, at).
- The records themselves (``lijnen.csv``): streamed, at most :data:`MAX_LINES`, with no pupil
  identifier (no ``leer_id_uuid``, ``account_uuid`` or leaf hash); read per client in keyset
  batches from ``ix_idp_disclosure_client_id_at`` (there is no index on ``at`` alone), at
  most :data:`MAX_LINES_DAYS` days without a client.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Engine, and_, func, or_, select

from leerid.idp.store.console import staff_log
from leerid.idp.store.console.disclosure_counts import brussels_day, hour_column, hour_value
from leerid.idp.store.console_tables import DisclosureDay, DisclosureHour
from leerid.idp.store.models import Disclosure
from leerid.protocol.lifecycle import BRUSSELS

__all__ = [
    "LOGIN_ENDPOINT",
    "MAX_LINES",
    "MAX_LINES_DAYS",
    "MAX_REFUSED_DAYS",
    "DisclosureFilter",
    "DisclosureLine",
    "brussels_start",
    "disclosure_lines",
    "lines_clients",
    "logged_lines",
    "logins_per_hour",
    "per_day_per_client",
    "protocols_seen",
    "refused_logins",
]

MAX_LINES = 100_000
"""At most this many records in one ``lijnen.csv`` (a narrower filter gives the rest)."""
MAX_LINES_DAYS = 31
"""The records without a client: at most this many days (with one: the page's range)."""
BATCH = 5_000
"""Records read at once (one short query) while ``lijnen.csv`` streams."""
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


def _where(flt: DisclosureFilter, client_id: str) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [
        Disclosure.client_id == client_id,
        Disclosure.at >= brussels_start(flt.start),
        Disclosure.at < brussels_start(flt.end + dt.timedelta(days=1)),
        ~and_(Disclosure.endpoint == "login", Disclosure.outcome == "refused"),
    ]
    if flt.protocol_id is not None:
        where.append(func.coalesce(Disclosure.protocol_id, "") == flt.protocol_id)
    if flt.outcome is not None:
        where.append(Disclosure.outcome == flt.outcome)
    return where


_Keyed = tuple[dt.datetime, int, DisclosureLine]


def _one_client(engine: Engine, flt: DisclosureFilter, client_id: str) -> Iterator[_Keyed]:
    """One client's records, oldest first, in keyset batches of :data:`BATCH`: each batch a
    range scan of ``ix_idp_disclosure_client_id_at`` on a connection held only for it."""
    columns = (Disclosure.at, Disclosure.id, Disclosure.protocol_id, Disclosure.endpoint)
    more = (Disclosure.claims, Disclosure.outcome, Disclosure.reason)
    last: tuple[dt.datetime, int] | None = None
    while True:
        query = select(*columns, *more).where(*_where(flt, client_id))
        if last is not None:
            after = and_(Disclosure.at == last[0], Disclosure.id > last[1])
            query = query.where(or_(Disclosure.at > last[0], after))
        query = query.order_by(Disclosure.at, Disclosure.id).limit(BATCH)
        with engine.connect() as conn:
            rows = conn.execute(query).all()
        for at, row_id, protocol, endpoint, claims, outcome, reason in rows:
            moment = at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at
            line = DisclosureLine(
                moment, client_id, str(protocol or ""), str(endpoint), str(claims or ""),
                str(outcome), str(reason or ""),
            )  # fmt: skip
            yield moment, int(row_id), line
        if len(rows) < BATCH:
            return
        last = (rows[-1][0], int(rows[-1][1]))


def lines_clients(engine: Engine, flt: DisclosureFilter, known: Iterable[str]) -> list[str]:
    """The clients whose records the export reads: the one filtered on, or every client
    known and every client the counts saw in the range."""
    if flt.client_id is not None:
        return [flt.client_id]
    query = select(DisclosureDay.client_id).where(
        DisclosureDay.day >= flt.start, DisclosureDay.day <= flt.end
    )
    with engine.connect() as conn:
        counted = {str(c) for c in conn.scalars(query.distinct())}
    return sorted(counted | set(known))


def disclosure_lines(
    engine: Engine, flt: DisclosureFilter, clients: Iterable[str]
) -> Iterator[DisclosureLine]:
    """The records the filter counts, oldest first, at most :data:`MAX_LINES` (refused
    logins are not disclosures and are left out, as in the counts). Read per client from
    the index on (client, at) and merged by time, so every read is an index range scan and
    no connection waits on a slow download."""
    streams = [_one_client(engine, flt, c) for c in clients]
    merged = heapq.merge(*streams, key=lambda keyed: (keyed[0], keyed[1]))
    for _at, _id, line in itertools.islice(merged, MAX_LINES):
        yield line


def logged_lines(
    engine: Engine, flt: DisclosureFilter, clients: Iterable[str], actor: str
) -> Iterator[DisclosureLine]:
    """``disclosure_lines``, and once the download ends (or breaks off) an entry in the staff
    log (art. 6): the filter and how many records left, never a pupil."""
    sent = 0
    try:
        for line in disclosure_lines(engine, flt, clients):
            sent += 1
            yield line
    finally:
        detail = {
            "van": flt.start.isoformat(),
            "tot": flt.end.isoformat(),
            "klant": flt.client_id or "alle",
            "protocol": "alle" if flt.protocol_id is None else flt.protocol_id or "geen",
            "uitkomst": flt.outcome or "alle",
            "lijnen": sent,
        }
        staff_log.record(
            engine,
            actor=actor,
            action="verstrekkingen_export",
            purpose="art. 6: verstrekkingen als lijnen gedownload",
            detail=detail,
        )


def _date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))
