"""The disclosures and logins pages' filters, charts and CSV files (issue 13), without I/O.

The handlers (``disclosure_pages``) read the figures through ``idp.store.console`` and hand
them here: a filter is checked field by field (a wrong value names its field, for a 400
page), figures become :class:`leerid.charts.Chart` objects, and CSV rows go through the one
formula-safe writer (a client's name could start with ``=``).
"""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from leerid.charts import Chart, Series, bar_chart, dutch_number
from leerid.csv_safe import SafeWriter
from leerid.idp.store.console.disclosure_queries import DisclosureFilter, DisclosureLine
from leerid.protocol.lifecycle import BRUSSELS

__all__ = [
    "DEFAULT_DAYS",
    "MAX_DAYS",
    "NO_PROTOCOL",
    "OUTCOMES",
    "REASONS",
    "BadFilterError",
    "ClientRow",
    "client_table",
    "counts_csv",
    "day_chart",
    "hour_chart",
    "lines_csv",
    "parse_day",
    "parse_disclosure_filter",
    "parse_range",
    "query_string",
    "refused_chart",
]

DEFAULT_DAYS = 30
MAX_DAYS = 366
OUTCOMES = {"released": "vrijgegeven", "refused": "geweigerd"}
REASONS = {
    "wrong_password": "verkeerd wachtwoord",
    "account_retired": "account buiten gebruik",
    "unknown_username": "onbekende gebruikersnaam",
    "throttled": "te veel pogingen",
}
"""A refused login's reason (``idp.web.login.Refusal``) as the chart names it."""
NO_PROTOCOL = "-"
"""The protocol filter's value for disclosures made under no protocol."""


FIRST_DAY, LAST_DAY = dt.date(2000, 1, 1), dt.date(2999, 12, 31)


class BadFilterError(ValueError):
    """A filter value the page cannot use: which field, and what to do."""

    def __init__(self, field: str, text: str) -> None:
        super().__init__(f"{field}: {text}")
        self.field = field
        self.text = text


def parse_day(params: Mapping[str, str], field: str, default: dt.date) -> dt.date:
    """The date in ``params[field]`` (JJJJ-MM-DD, from 2000 to 2999: the counts' days, with
    room to step a day either way), or ``default`` when empty."""
    value = params.get(field, "").strip()
    if not value:
        return default
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise BadFilterError(field, "geef een datum als JJJJ-MM-DD, zoals 2026-09-01") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise BadFilterError(field, "geef een datum tussen 2000-01-01 en 2999-12-31")
    return day


def parse_range(
    params: Mapping[str, str], today: dt.date, *, default_days: int, max_days: int
) -> tuple[dt.date, dt.date]:
    """``van`` .. ``tot`` (both included; default the last ``default_days`` days)."""
    end = parse_day(params, "tot", today)
    start = parse_day(params, "van", end - dt.timedelta(days=default_days - 1))
    if start > end:
        raise BadFilterError("van", "de begindatum ligt na de einddatum; kies een vroegere datum")
    if (end - start).days + 1 > max_days:
        raise BadFilterError("tot", f"kies een periode van hoogstens {max_days} dagen")
    return start, end


def parse_disclosure_filter(
    params: Mapping[str, str], today: dt.date, clients: Iterable[str]
) -> DisclosureFilter:
    """The disclosures page's filter from its query string."""
    start, end = parse_range(params, today, default_days=DEFAULT_DAYS, max_days=MAX_DAYS)
    client = params.get("klant", "").strip() or None
    if client is not None and client not in set(clients):
        raise BadFilterError("klant", "kies een klant uit de lijst")
    protocol = params.get("protocol", "").strip() or None
    if protocol == NO_PROTOCOL:
        protocol = ""
    elif protocol is not None and (len(protocol) > 100 or not protocol.isprintable()):
        raise BadFilterError("protocol", "kies een protocol uit de lijst")
    outcome = params.get("uitkomst", "").strip() or None
    if outcome is not None and outcome not in OUTCOMES:
        raise BadFilterError("uitkomst", "kies vrijgegeven, geweigerd of alle uitkomsten")
    return DisclosureFilter(start, end, client, protocol, outcome)


def query_string(flt: DisclosureFilter) -> str:
    """The filter as a query string (for the CSV links)."""
    pairs = {"van": flt.start.isoformat(), "tot": flt.end.isoformat()}
    if flt.client_id is not None:
        pairs["klant"] = flt.client_id
    if flt.protocol_id is not None:
        pairs["protocol"] = flt.protocol_id or NO_PROTOCOL
    if flt.outcome is not None:
        pairs["uitkomst"] = flt.outcome
    return urlencode(pairs)


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def day_chart(
    rows: Iterable[tuple[dt.date, str, int]], flt: DisclosureFilter, names: Mapping[str, str]
) -> Chart:
    """Disclosures per day, stacked per client (by name), every day of the range shown."""
    days = _days(flt.start, flt.end)
    position = {day: n for n, day in enumerate(days)}
    per_client: dict[str, list[int]] = defaultdict(lambda: [0] * len(days))
    for day, client, count in rows:
        per_client[client][position[day]] += count
    ordered = sorted(per_client, key=lambda c: (names.get(c, c).casefold(), c))
    return bar_chart(
        [day.isoformat() for day in days],
        [Series(names.get(c, c), per_client[c]) for c in ordered],
        caption=f"Verstrekkingen per dag en per klant, {flt.start} tot en met {flt.end}",
        unit="verstrekkingen",
        chart_id="verstrekkingen-per-dag",
        category_label="dag",
    )


@dataclass(frozen=True)
class ClientRow:
    """One client's line in the table under the chart."""

    client_id: str
    name: str
    total: str
    per_day: str
    busiest: str


def client_table(
    rows: Iterable[tuple[dt.date, str, int]], flt: DisclosureFilter, names: Mapping[str, str]
) -> list[ClientRow]:
    """A line per client: its total, its average per day and its busiest day."""
    totals: Counter[str] = Counter()
    busiest: dict[str, tuple[int, dt.date]] = {}
    for day, client, count in rows:
        totals[client] += count
        if count > busiest.get(client, (0, day))[0]:
            busiest[client] = (count, day)
    days = (flt.end - flt.start).days + 1
    return [
        ClientRow(
            client_id=client,
            name=names.get(client, client),
            total=dutch_number(total),
            per_day=f"{total / days:.1f}".replace(".", ","),
            busiest=f"{busiest[client][1]} ({dutch_number(busiest[client][0])})"
            if client in busiest
            else "",
        )
        for client, total in sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    ]


def _hour_labels(hours: list[dt.datetime]) -> list[str]:
    """Brussels clock times; on the days the clock changes, with the zone (02:00 CEST)."""
    local = [hour.astimezone(BRUSSELS) for hour in hours]
    if len(hours) == 24:
        return [f"{moment:%H:%M}" for moment in local]
    return [f"{moment:%H:%M} {moment.tzname()}" for moment in local]


def hour_chart(
    rows: Iterable[tuple[dt.datetime, str, int]], day: dt.date, names: Mapping[str, str]
) -> Chart:
    """Logins per hour of a Brussels day (23, 24 or 25 hours), stacked per client."""
    start = dt.datetime.combine(day, dt.time(0), BRUSSELS).astimezone(dt.UTC)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), BRUSSELS)
    count = int((end.astimezone(dt.UTC) - start).total_seconds() // 3600)
    hours = [start + dt.timedelta(hours=n) for n in range(count)]
    position = {hour: n for n, hour in enumerate(hours)}
    per_client: dict[str, list[int]] = defaultdict(lambda: [0] * len(hours))
    for hour, client, logins in rows:
        per_client[client][position[hour]] += logins
    ordered = sorted(per_client, key=lambda c: (names.get(c, c).casefold(), c))
    return bar_chart(
        _hour_labels(hours),
        [Series(names.get(c, c), per_client[c]) for c in ordered],
        caption=f"Aanmeldingen per uur op {day} (uur in Brussel)",
        unit="aanmeldingen",
        chart_id="aanmeldingen-per-uur",
        category_label="uur",
    )


def refused_chart(counts: Counter[tuple[dt.date, str]], start: dt.date, end: dt.date) -> Chart:
    """Refused logins per day, stacked per reason."""
    days = _days(start, end)
    position = {day: n for n, day in enumerate(days)}
    per_reason: dict[str, list[int]] = defaultdict(lambda: [0] * len(days))
    for (day, reason), count in counts.items():
        per_reason[REASONS.get(reason, reason) or "onbekend"][position[day]] += count
    return bar_chart(
        [day.isoformat() for day in days],
        [Series(reason, per_reason[reason]) for reason in sorted(per_reason)],
        caption=f"Geweigerde aanmeldingen per dag en reden, {start} tot en met {end}",
        unit="geweigerde aanmeldingen",
        chart_id="geweigerd-per-reden",
        category_label="dag",
    )


def counts_csv(rows: Iterable[tuple[dt.date, str, int]], names: Mapping[str, str]) -> str:
    """The filtered counts per day and client, as CSV (formula-safe)."""
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow(["dag", "klant_id", "klant", "verstrekkingen"])
    for day, client, count in rows:
        writer.writerow([day.isoformat(), client, names.get(client, client), count])
    return out.getvalue()


def lines_csv(lines: Iterable[DisclosureLine], names: Mapping[str, str]) -> Iterator[str]:
    """The records as CSV, in chunks of a thousand lines: no pupil identifier in them."""
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow(
        ["tijd", "klant_id", "klant", "protocol", "endpoint", "claims", "uitkomst", "reden"]
    )
    for n, line in enumerate(lines, start=1):
        writer.writerow(
            [
                line.at.astimezone(BRUSSELS).isoformat(timespec="seconds"),
                line.client_id,
                names.get(line.client_id, line.client_id),
                line.protocol_id,
                line.endpoint,
                line.claims,
                OUTCOMES.get(line.outcome, line.outcome),
                line.reason,
            ]
        )
        if n % 1000 == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()
