"""Disclosures counted per client and day and per hour, kept by the log's integrator (issue 13).

The console's charts never count ``idp_disclosure`` itself (ten million rows and more): they
read ``idp_disclosure_day`` (per Europe/Brussels day, client, protocol, endpoint, outcome)
and ``idp_disclosure_hour`` (per UTC hour, client, endpoint, outcome).

- Kept exactly: the transparency log's integrator calls :func:`count_entries` in the
  transaction that gives pending entries their indexes (``tlog.integrate.integrate_once``),
  under the state row's lock. Each entry is integrated exactly once, so each disclosure is
  counted exactly once, and the login's own write (the record and its entry) gains nothing.
- Refused logins have no log entry (``write_private_record``: the public log would tell a
  username exists), so they are not in these tables; the "refused logins by reason" chart
  counts ``idp_disclosure`` live over at most 31 days (``disclosure_queries``).
- :func:`rebuild_counts` recomputes both tables from ``idp_disclosure``: the records whose
  entry is integrated and the records from before the log (no entry), refused logins left
  out. The integrator runs it once by itself while ``idp_disclosure_rollup.rebuilt_at`` is
  empty (after the migration), and ``leerid disclosures counts rebuild`` on request; both
  under the state row's lock, so no integration runs in between.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, and_, delete, func, literal_column, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from leerid.idp.store.console_tables import DisclosureDay, DisclosureHour, DisclosureRollup
from leerid.idp.store.models import Disclosure
from leerid.idp.store.tlog.tables import TlogEntry
from leerid.protocol.lifecycle import BRUSSELS

__all__ = [
    "DayKey",
    "HourKey",
    "Rebuilt",
    "brussels_day",
    "count_entries",
    "hour_column",
    "hour_value",
    "needs_rebuild",
    "rebuild_counts",
    "upsert_counts",
]

DayKey = tuple[dt.date, str, str, str, str]
"""(Brussels day, client, protocol ('' for none), endpoint, outcome)."""
HourKey = tuple[dt.datetime, str, str, str]
"""(first moment of the UTC hour, client, endpoint, outcome)."""

log = logging.getLogger(__name__)
_KIND = b'"kind":"disclosure"'
_CHUNK = 2000


@dataclass(frozen=True)
class Rebuilt:
    """What a rebuild wrote."""

    disclosures: int
    days: int
    hours: int
    size: int


@lru_cache(maxsize=4096)
def brussels_day(hour: dt.datetime) -> dt.date:
    """The Europe/Brussels date of a UTC hour (the offset is whole hours, so the hour
    decides the day: 23:30 UTC on a summer evening is already the next day)."""
    return hour.astimezone(BRUSSELS).date()


@lru_cache(maxsize=4096)
def _hour_of(prefix: str) -> tuple[dt.datetime, dt.date]:
    """The UTC hour and Brussels day of an entry time's ``YYYY-MM-DDTHH`` (entries write
    their time as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``, in UTC)."""
    hour = dt.datetime.strptime(prefix, "%Y-%m-%dT%H").replace(tzinfo=dt.UTC)
    return hour, brussels_day(hour)


def _keys(body: bytes) -> tuple[DayKey, HourKey] | None:
    """A disclosure entry's day and hour keys; None for another kind of entry."""
    if _KIND not in body:
        return None
    document: dict[str, Any] = json.loads(body)
    if document.get("kind") != "disclosure":
        return None
    hour, day = _hour_of(str(document["at"])[:13])
    client, endpoint = str(document["client"]), str(document["endpoint"])
    outcome = str(document["outcome"])
    protocol = str(document.get("protocol") or "")
    return (day, client, protocol, endpoint, outcome), (hour, client, endpoint, outcome)


def tally(bodies: Iterable[bytes]) -> tuple[Counter[DayKey], Counter[HourKey]]:
    """Count the ``disclosure`` entries among ``bodies`` (canonical JSON) per day and hour.

    An entry that cannot be read (never written so: the append checks the form) is left out
    with a warning rather than stopping the log's integration."""
    days: Counter[DayKey] = Counter()
    hours: Counter[HourKey] = Counter()
    for body in bodies:
        try:
            keys = _keys(body)
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("a log entry was not counted (%s)", type(exc).__name__)
            continue
        if keys is not None:
            days[keys[0]] += 1
            hours[keys[1]] += 1
    return days, hours


def count_entries(conn: Connection, bodies: Iterable[bytes]) -> int:
    """Add the disclosure entries among ``bodies`` (just given their indexes, in the caller's
    transaction under the state lock) to the counts; how many disclosures were counted."""
    days, hours = tally(bodies)
    upsert_counts(conn, days, hours)
    return sum(days.values())


def upsert_counts(
    conn: Connection, days: Counter[DayKey], hours: Counter[HourKey], *, add: bool = True
) -> None:
    """Add (or, ``add=False``, set) counts: INSERT … ON CONFLICT DO UPDATE on both backends."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    day_rows = [
        {
            "day": k[0],
            "client_id": k[1],
            "protocol_id": k[2],
            "endpoint": k[3],
            "outcome": k[4],
            "count": n,
        }
        for k, n in sorted(days.items())
    ]
    hour_rows = [
        {"hour": k[0], "client_id": k[1], "endpoint": k[2], "outcome": k[3], "count": n}
        for k, n in sorted(hours.items())
    ]
    for table, rows, keys in (
        (DisclosureDay, day_rows, ["day", "client_id", "protocol_id", "endpoint", "outcome"]),
        (DisclosureHour, hour_rows, ["hour", "client_id", "endpoint", "outcome"]),
    ):
        if not rows:
            continue
        statement = dialect.insert(table)
        added = table.__table__.c.count + statement.excluded.count
        upsert = statement.on_conflict_do_update(
            index_elements=keys, set_={"count": added if add else statement.excluded.count}
        )
        for start in range(0, len(rows), _CHUNK):
            conn.execute(upsert, rows[start : start + _CHUNK])


def needs_rebuild(conn: Connection) -> bool:
    """Whether the counts were never rebuilt (the migration leaves ``rebuilt_at`` empty)."""
    rebuilt = conn.execute(
        select(DisclosureRollup.rebuilt_at).where(DisclosureRollup.id == 1)
    ).first()
    return rebuilt is None or rebuilt.rebuilt_at is None


def hour_column(dialect: str) -> Any:
    """The UTC hour of ``idp_disclosure.at`` (text on SQLite, a timestamp on PostgreSQL);
    :func:`hour_value` reads it back."""
    if dialect == "postgresql":
        return func.date_trunc("hour", func.timezone("UTC", Disclosure.at))
    return func.substr(Disclosure.at, 1, 13)  # SQLite keeps UTC as 'YYYY-MM-DD HH:MM:…'


def hour_value(value: object) -> dt.datetime:
    """An hour as the database gives it back, as an aware UTC datetime."""
    if isinstance(value, str):
        return dt.datetime.strptime(value, "%Y-%m-%d %H").replace(tzinfo=dt.UTC)
    if not isinstance(value, dt.datetime):
        raise TypeError(f"an hour, not {value!r}")
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def rebuild_counts(conn: Connection, size: int, now: dt.datetime) -> Rebuilt:
    """Recompute both tables from ``idp_disclosure`` (records whose entry is integrated, and
    records from before the log; refused logins left out). The caller holds the log's state
    row lock (``tlog.integrate.rebuild_disclosure_counts``) and passes the integrated size."""
    hour = hour_column(conn.dialect.name).label("hour")
    protocol = func.coalesce(Disclosure.protocol_id, literal_column("''")).label("protocol")
    integrated = (
        select(TlogEntry.seq)
        .where(TlogEntry.leaf_hash == Disclosure.log_leaf, TlogEntry.idx.is_not(None))
        .exists()
    )
    grouped = conn.execute(
        select(
            hour,
            Disclosure.client_id,
            protocol,
            Disclosure.endpoint,
            Disclosure.outcome,
            func.count(),
        )
        .where(
            ~and_(Disclosure.endpoint == "login", Disclosure.outcome == "refused"),
            or_(Disclosure.log_leaf.is_(None), integrated),
        )
        .group_by(hour, Disclosure.client_id, protocol, Disclosure.endpoint, Disclosure.outcome)
    )
    days: Counter[DayKey] = Counter()
    hours: Counter[HourKey] = Counter()
    for at, client, proto, endpoint, outcome, count in grouped:
        moment = hour_value(at)
        days[(brussels_day(moment), client, proto, endpoint, outcome)] += count
        hours[(moment, client, endpoint, outcome)] += count
    conn.execute(delete(DisclosureDay))
    conn.execute(delete(DisclosureHour))
    upsert_counts(conn, days, hours, add=False)
    conn.execute(
        update(DisclosureRollup)
        .where(DisclosureRollup.id == 1)
        .values(rebuilt_at=now, rebuilt_to_size=size)
    )
    return Rebuilt(sum(days.values()), len(days), len(hours), size)
