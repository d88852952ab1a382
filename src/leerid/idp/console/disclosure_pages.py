"""The console's disclosures and logins pages (issue 13, point 1: "disclosures: per client and
per day, as a chart; filters (client, protocol, date, outcome); CSV export; logins per hour
and refused logins by reason as charts"). Both roles, operator and DPO, see them: they show
counts and records without pupil identifiers.

- ``/beheer/verstrekkingen``: disclosures per day, stacked per client (by name), with
  filters; a table per client; ``/beheer/verstrekkingen.csv`` (the counts per day and
  client) and ``/beheer/verstrekkingen/lijnen.csv`` (the records, streamed, at most
  ``MAX_LINES``; without a client at most ``MAX_LINES_DAYS`` days; each download logged).
- ``/beheer/aanmeldingen``: logins per hour of one Brussels day, refused logins per day and
  reason over at most 31 days.

A filter value the page cannot use answers a 400 page naming the field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from leerid.idp.console import disclosure_views as views
from leerid.idp.console.guard import AnyStaff, ConsoleDep
from leerid.idp.store.clients import list_clients
from leerid.idp.store.console.disclosure_queries import (
    MAX_LINES,
    MAX_LINES_DAYS,
    MAX_REFUSED_DAYS,
    DisclosureFilter,
    lines_clients,
    logged_lines,
    logins_per_hour,
    per_day_per_client,
    protocols_seen,
    refused_logins,
)
from leerid.protocol.lifecycle import BRUSSELS

__all__ = ["router"]

router = APIRouter()

_FIELDS = {
    "klant": "Klant",
    "protocol": "Protocol",
    "van": "Van",
    "tot": "Tot en met",
    "uitkomst": "Uitkomst",
    "dag": "Dag",
}


def _today() -> dt.date:
    return dt.datetime.now(BRUSSELS).date()


def _names(console: ConsoleDep) -> dict[str, str]:
    """Client id → the client's name in the client registry."""
    return {client.client_id: client.name for client in list_clients(console.ctx.engine)}


def _bad(console: ConsoleDep, who: AnyStaff, error: views.BadFilterError) -> Response:
    field = _FIELDS.get(error.field, error.field)
    return console.message(
        who,
        "Deze filter kan niet",
        f"Het veld „{field}” klopt niet: {error.text}. Pas het aan en probeer opnieuw.",
        400,
    )


def _read_filter(
    request: Request, console: ConsoleDep, who: AnyStaff
) -> tuple[DisclosureFilter, dict[str, str]] | Response:
    """The page's filter and the clients' names, or the 400 page naming the wrong field."""
    names = _names(console)
    try:
        params = dict(request.query_params)
        return views.parse_disclosure_filter(params, _today(), names), names
    except views.BadFilterError as error:
        return _bad(console, who, error)


@router.get("/beheer/verstrekkingen")
def disclosures_page(request: Request, console: ConsoleDep, who: AnyStaff) -> Response:
    """Disclosures per day and client, as a chart and tables, with filters."""
    read = _read_filter(request, console, who)
    if isinstance(read, Response):
        return read
    flt, names = read
    rows = per_day_per_client(console.ctx.engine, flt)
    protocols = protocols_seen(console.ctx.engine, flt.start, flt.end)
    return console.page(
        request,
        "disclosures.html",
        who,
        flt=flt,
        chart=views.day_chart(rows, flt, names),
        clients_table=views.client_table(rows, flt, names),
        clients=sorted(names.items(), key=lambda item: (item[1].casefold(), item[0])),
        protocols=[p for p in protocols if p],
        no_protocol=views.NO_PROTOCOL,
        outcomes=views.OUTCOMES,
        query=views.query_string(flt),
        max_days=views.MAX_DAYS,
        max_lines=MAX_LINES,
        max_lines_days=MAX_LINES_DAYS,
    )


@router.get("/beheer/verstrekkingen.csv")
def disclosures_csv(request: Request, console: ConsoleDep, who: AnyStaff) -> Response:
    """The filtered counts per day and client, as CSV."""
    read = _read_filter(request, console, who)
    if isinstance(read, Response):
        return read
    flt, names = read
    rows = per_day_per_client(console.ctx.engine, flt)
    return _csv(iter([views.counts_csv(rows, names)]), "verstrekkingen", flt)


@router.get("/beheer/verstrekkingen/lijnen.csv")
def disclosure_lines_csv(request: Request, console: ConsoleDep, who: AnyStaff) -> Response:
    """The filtered records (no pupil identifiers), streamed, at most ``MAX_LINES``; without
    a client at most ``MAX_LINES_DAYS`` days; the download is logged (art. 6)."""
    read = _read_filter(request, console, who)
    if isinstance(read, Response):
        return read
    flt, names = read
    if flt.client_id is None and (flt.end - flt.start).days + 1 > MAX_LINES_DAYS:
        text = f"kies een klant, of een periode van hoogstens {MAX_LINES_DAYS} dagen"
        return _bad(console, who, views.BadFilterError("klant", text))
    engine = console.ctx.engine
    clients = lines_clients(engine, flt, names)
    lines = logged_lines(engine, flt, clients, who.username)
    return _csv(views.lines_csv(lines, names), "verstrekkingen-lijnen", flt)


def _csv(chunks: Iterator[str], stem: str, flt: DisclosureFilter) -> Response:
    """A CSV download named after the filter's days."""
    name = f"{stem}-{flt.start}-{flt.end}.csv"
    return StreamingResponse(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/beheer/aanmeldingen")
def logins_page(request: Request, console: ConsoleDep, who: AnyStaff) -> Response:
    """Logins per hour of a day, refused logins per day and reason (at most 31 days)."""
    params = dict(request.query_params)
    today = _today()
    try:
        day = views.parse_day(params, "dag", today)
        start, end = views.parse_range(params, today, default_days=7, max_days=MAX_REFUSED_DAYS)
    except views.BadFilterError as error:
        return _bad(console, who, error)
    names = _names(console)
    hours = logins_per_hour(console.ctx.engine, day)
    refused = refused_logins(console.ctx.engine, start, end)
    return console.page(
        request,
        "logins.html",
        who,
        day=day,
        start=start,
        end=end,
        hours_chart=views.hour_chart(hours, day, names),
        refused_chart=views.refused_chart(refused, start, end),
        max_refused_days=MAX_REFUSED_DAYS,
    )
