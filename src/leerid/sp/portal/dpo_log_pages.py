"""The DPO's privacy-log pages: the log with filters and pages, its CSV export, the chart of
reads per day and function, and "who looked at this pupil's file" (art. 4, 6; GDPR art. 15).

Art. 4: the DPO sees pupils as pseudonyms only. Art. 6: the hash chain is verified on every
view of the log (``chain_check``); the export and every who-looked lookup are logged, so
they run only on a POST with the CSRF token, and the filter form is posted too, so a pupil key
typed in never stands in an address (art. 4).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from leerid.charts import Chart, Series, bar_chart
from leerid.csv_safe import SafeWriter
from leerid.protocol.lifecycle import BRUSSELS
from leerid.sp.kit import chain_check, privacy_log
from leerid.sp.kit.dpo_log import (
    Lookup,
    NotAPupilKeyError,
    who_looked,
    who_looked_by_pseudonym,
)
from leerid.sp.kit.dpo_usage import Usage, check_range, views_per_day
from leerid.sp.kit.dpo_views import (
    CSV_HEADER,
    FilterError,
    LogFilter,
    as_pseudonym,
    export_rows,
    page_of,
    parse_day,
    parse_filter,
)
from leerid.sp.kit.keys import ProviderSecrets
from leerid.sp.portal import page_texts
from leerid.sp.portal.guard import DpoStaff, DpoStaffPost, PortalDep
from leerid.sp.portal.state import Portal

router = APIRouter()

LOG = "/personeel/privacylog"
LOG_CSV = "/personeel/privacylog.csv"
CHART = "/personeel/privacylog/grafiek"
LOOKUP = "/personeel/privacylog/inzage"
EXPORT_ACTION = "privacylog_export"
CHART_DAYS = 30  # the chart's period when the DPO chose none: the last 30 days


FILTER_FIELDS = ("leerling", "medewerker", "actie", "van", "tot", "na", "voor")


def _links(wanted: LogFilter, older: int | None, newer: int | None) -> dict[str, str | None]:
    base = wanted.query(paging=False)
    return {
        "next": None if older is None else f"{LOG}?{urlencode({**base, 'na': older})}",
        "previous": None if newer is None else f"{LOG}?{urlencode({**base, 'voor': newer})}",
        "chart": CHART,
    }


def _shown(params: Mapping[str, str], secrets: ProviderSecrets) -> dict[str, str]:
    """The filters to fill the form with again: the pupil as its pseudonym, never a key
    (art. 4), whatever else was wrong; a pupil that is not understood is left empty."""
    shown = {k: params[k] for k in FILTER_FIELDS if k in params}
    given = shown.get("leerling", "").strip()
    if given:
        try:
            shown["leerling"] = as_pseudonym(secrets, given)
        except FilterError:  # typed again: it may hold a key with a slip in it
            shown["leerling"] = ""
    return shown


async def _log_page(portal: Portal, session: dict[str, Any], params: dict[str, str]) -> Response:
    """Art. 6: the privacy log, filtered and paged by 200, its chain verified on every view."""
    provider = portal.provider
    check = await asyncio.to_thread(chain_check.check, provider.engine, provider.secrets)
    shown = _shown(params, provider.secrets)
    context: dict[str, Any] = {"check": check, "params": shown, "actions": page_texts.ACTIONS}
    try:
        wanted = parse_filter(params, provider.secrets)
    except FilterError as exc:
        return portal.page(
            "staff_log.html", session, 400, error=exc.dutch, page=None, current=LOG, **context
        )
    if params.get("leerling", "").strip() not in ("", wanted.pupil):
        # art. 4: a key (or psn-…) goes on as its pseudonym, out of the address bar
        return RedirectResponse(f"{LOG}?{urlencode(wanted.query())}", 303)
    found = await asyncio.to_thread(page_of, provider.engine, provider.secrets, wanted)
    return portal.page(
        "staff_log.html",
        session,
        page=found,
        filtered=bool(wanted.query(paging=False)),
        links=_links(wanted, found.older, found.newer),
        export=wanted.query(paging=False),
        current=LOG,
        **context,
    )


@router.get(LOG, response_class=HTMLResponse)
async def staff_log(request: Request, portal: PortalDep, who: DpoStaff) -> Response:
    """Art. 6: the privacy log; the filters in the address hold a pupil's pseudonym only."""
    return await _log_page(portal, who.session, dict(request.query_params))


@router.post(LOG, response_class=HTMLResponse)
async def staff_log_filter(portal: PortalDep, posted: DpoStaffPost) -> Response:
    """Art. 4: the filter form is posted, so a pupil key typed in never stands in an address
    (nor in a proxy's or the server's access log); the answer is a redirect to the address
    with the pupil's pseudonym."""
    fields = {k: posted.form[k] for k in FILTER_FIELDS[:5] if k in posted.form}
    try:
        wanted = parse_filter(fields, portal.provider.secrets)
    except FilterError:
        return await _log_page(portal, posted.session, fields)
    query = wanted.query(paging=False)
    return RedirectResponse(f"{LOG}?{urlencode(query)}" if query else LOG, 303)


def _csv(portal: Portal, wanted: LogFilter) -> Iterator[str]:
    """The export in pieces of about 64 kB, every text cell formula-safe (``csv_safe``)."""
    buffer = io.StringIO()
    writer = SafeWriter(buffer)
    writer.writerow(CSV_HEADER)
    for row in export_rows(portal.provider.engine, portal.provider.secrets, wanted):
        writer.writerow(row)
        if buffer.tell() > 65536:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@router.get(LOG_CSV)
async def staff_log_export_page(request: Request, portal: PortalDep, who: DpoStaff) -> Response:
    """The export is logged (art. 6), so it is a form button on the log page (a POST with
    the CSRF token: a link from elsewhere cannot make the DPO export); this address leads
    to that page with the same filters."""
    try:
        wanted = parse_filter(dict(request.query_params), portal.provider.secrets)
    except FilterError:
        return RedirectResponse(LOG, 303)
    query = wanted.query(paging=False)
    return RedirectResponse(f"{LOG}?{urlencode(query)}" if query else LOG, 303)


@router.post(LOG_CSV)
async def staff_log_export(portal: PortalDep, posted: DpoStaffPost) -> Response:
    """Art. 6: the filtered entries as CSV (pseudonyms, art. 4), streamed; the export is
    itself logged with its filters."""
    provider = portal.provider
    fields = {k: posted.form[k] for k in FILTER_FIELDS[:5] if k in posted.form}
    try:
        wanted = parse_filter(fields, provider.secrets)
    except FilterError as exc:
        return portal.message(posted.session, "Filter niet in orde", exc.dutch, 400, back=LOG)
    await asyncio.to_thread(
        lambda: privacy_log.record(
            provider.engine,
            actor=posted.username,
            action=EXPORT_ACTION,
            purpose="Art. 6: het privacylog als CSV-bestand (pseudoniemen)",
            detail={"filters": wanted.logged()},
        )
    )
    day = dt.datetime.now(BRUSSELS).date().isoformat()
    headers = {
        "content-disposition": f'attachment; filename="privacylog-{day}.csv"',
        "cache-control": "no-store",
    }
    return StreamingResponse(
        _csv(portal, wanted), media_type="text/csv; charset=utf-8", headers=headers
    )


def _usage_chart(usage: Usage, day_from: dt.date, day_to: dt.date) -> Chart:
    return bar_chart(
        [d.strftime("%d-%m-%Y") for d in usage.days],
        [Series(name, values) for name, values in usage.per_function.items()],
        caption=(
            f"Inzages van leerlingengegevens per dag en per functie, {day_from:%d-%m-%Y} "
            f"tot en met {day_to:%d-%m-%Y}"
        ),
        unit="inzages",
        chart_id="inzages-per-dag",
        category_label="dag",
    )


@router.get(CHART, response_class=HTMLResponse)
async def staff_log_chart(request: Request, portal: PortalDep, who: DpoStaff) -> Response:
    """Art. 4, 6: the staff's reads of pupil data per day, stacked per function."""
    provider = portal.provider
    params = dict(request.query_params)
    today = dt.datetime.now(BRUSSELS).date()
    try:
        day_to = parse_day(params, "tot", "Tot en met") or today
        day_from = parse_day(params, "van", "Van") or day_to - dt.timedelta(days=CHART_DAYS - 1)
        check_range(day_from, day_to)
    except FilterError as exc:
        return portal.page(
            "staff_log_chart.html", who.session, 400, error=exc.dutch, params=params, chart=None,
            current=LOG,
        )  # fmt: skip
    usage = await asyncio.to_thread(
        views_per_day,
        provider.engine,
        day_from,
        day_to,
        {r.id: r.label for r in provider.protocol.roles},
        {p.id: p.label for p in provider.settings.profiles},
    )
    return portal.page(
        "staff_log_chart.html",
        who.session,
        chart=_usage_chart(usage, day_from, day_to),
        usage=usage,
        params={"van": day_from.isoformat(), "tot": day_to.isoformat()},
        current=LOG,
    )


@router.get(LOOKUP, response_class=HTMLResponse)
async def staff_log_lookup(request: Request, portal: PortalDep, who: DpoStaff) -> Response:
    """GDPR art. 15: the form; with ``?pseudoniem=`` a button to look that pseudonym up. The
    lookup is logged (art. 6), so only a POST with the CSRF token runs it: a link from
    elsewhere cannot make the DPO look a pupil up."""
    given = request.query_params.get("pseudoniem")
    if given is None:
        return portal.page("staff_lookup.html", who.session, lookup=None, current=LOG)
    try:
        name = as_pseudonym(portal.provider.secrets, given)
    except FilterError as exc:
        return portal.page(
            "staff_lookup.html", who.session, 400, lookup=None, error=exc.dutch, current=LOG
        )
    return portal.page("staff_lookup.html", who.session, lookup=None, asked=name, current=LOG)


def _look_up(portal: Portal, form: Mapping[str, str], actor: str) -> Lookup:
    """The pseudonym from a log line's button, or the key typed in the form."""
    provider = portal.provider
    labels = {r.id: r.label for r in provider.protocol.roles}
    if "pseudoniem" in form:
        name = as_pseudonym(provider.secrets, form["pseudoniem"])
        return who_looked_by_pseudonym(
            provider.engine, provider.secrets, name, actor=actor, role_labels=labels
        )
    given = form.get("sleutel", "")
    return who_looked(provider.engine, provider.secrets, given, actor=actor, role_labels=labels)


@router.post(LOOKUP, response_class=HTMLResponse)
async def staff_log_lookup_run(portal: PortalDep, posted: DpoStaffPost) -> Response:
    """GDPR art. 15, art. 4: who looked at this pupil's file, when, in which function (the
    DPO sees the pseudonym, not the key); the lookup is logged."""
    try:
        found = await asyncio.to_thread(_look_up, portal, posted.form, posted.username)
    except (NotAPupilKeyError, FilterError) as exc:
        return portal.page(
            "staff_lookup.html", posted.session, 400, lookup=None, error=exc.dutch, current=LOG
        )
    return portal.page("staff_lookup.html", posted.session, lookup=found, current=LOG)
