"""The registry's pages (issue 13): ``/beheer/register`` and below.

- ``/beheer/register``: the last imports (counts, rejects, duration); operator only.
- ``/beheer/register/imports/{id}/weigeringen.csv``: a run's rejects; operator with the
  art. 6 dates, logged (rejects carry refertes).
- ``/beheer/register/zoeken``: a pupil by referte, INSZ or name; operator with the art. 6
  dates; each search is logged with its purpose (art. 6).
- ``/beheer/register/samenvoegingen``: the merges' audit rows; both roles (they hold keys
  and the operator's reason, no names).
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
from collections.abc import Iterator

from fastapi import APIRouter, Request
from starlette.responses import Response, StreamingResponse

from leerid.idp.console.guard import AnyStaff, ConsoleDep, Operator, OperatorPupilData
from leerid.idp.console.guard import OperatorPupilDataPost as SearchPost
from leerid.idp.console.pages import page_number
from leerid.idp.store.console.registry import (
    SearchError,
    import_runs,
    masked_insz,
    merges,
    rejects_of,
    search_pupils,
)
from leerid.protocol.lifecycle import BRUSSELS

__all__ = ["router"]

router = APIRouter()
PER_PAGE = 50
_CHUNK = 64 * 1024


@router.get("/beheer/register")
async def register(request: Request, who: Operator, console: ConsoleDep) -> Response:
    """The newest imports, with their counts and a link to each one's rejects."""
    runs = await console.ctx.run(import_runs, console.ctx.engine)
    return console.page(request, "console_register.html", who, runs=runs)


def _unzipped(data: bytes) -> Iterator[bytes]:
    with gzip.GzipFile(fileobj=io.BytesIO(data)) as source:
        while chunk := source.read(_CHUNK):
            yield chunk


@router.get("/beheer/register/imports/{run_id}/weigeringen.csv")
async def rejects(
    request: Request, run_id: str, who: OperatorPupilData, console: ConsoleDep
) -> Response:
    """The rejects file of one import run (art. 6: logged; it carries refertes)."""
    ctx = console.ctx
    data = None
    if run_id.isdigit() and len(run_id) < 10:
        data = await ctx.run(lambda: rejects_of(ctx.engine, int(run_id), actor=who.username))
    if data is None:
        text = "Voor deze import zijn geen geweigerde regels bewaard. Kies een import uit de lijst."
        return console.message(who, "Niet gevonden", text, 404)
    headers = {
        "Content-Disposition": f'attachment; filename="weigeringen-import-{run_id}.csv"',
        "Cache-Control": "no-store",
    }
    return StreamingResponse(_unzipped(data), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/beheer/register/zoeken")
async def search_form(request: Request, who: OperatorPupilData, console: ConsoleDep) -> Response:
    """The search form (art. 6: a search is a logged act with its purpose)."""
    return console.page(request, "console_search.html", who, form={}, errors={}, found=None)


@router.post("/beheer/register/zoeken")
async def search(request: Request, who: SearchPost, console: ConsoleDep) -> Response:
    """Art. 6: find pupils and log the search in the same transaction; 400 naming the field."""
    form = who.form
    ctx = console.ctx
    today = dt.datetime.now(BRUSSELS).date()

    def run() -> object:
        try:
            return search_pupils(
                ctx.engine,
                actor=who.username,
                purpose=form.get("doel", ""),
                by=form.get("sleutel", ""),
                value=form.get("waarde", ""),
                voornaam=form.get("voornaam", ""),
                on=today,
            )
        except SearchError as refused:
            return refused

    found = await ctx.run(run)
    shown = {k: form.get(k, "") for k in ("doel", "sleutel", "voornaam")}
    if isinstance(found, SearchError):
        shown["waarde"] = form.get("waarde", "")
        errors = {found.field: found.text}
        return console.page(
            request, "console_search.html", who, 400, form=shown, errors=errors, found=None
        )
    return console.page(
        request, "console_search.html", who, form=shown, errors={}, found=found, mask=masked_insz
    )


@router.get("/beheer/register/samenvoegingen")
async def merged(request: Request, who: AnyStaff, console: ConsoleDep) -> Response:
    """The merges' audit rows, newest first (both roles: keys and reasons, no names)."""
    page = page_number(request)
    if page is None:
        text = "Het paginanummer moet een geheel getal vanaf 1 zijn."
        return console.message(who, "Ongeldig paginanummer", text, 400)
    ctx = console.ctx
    rows, total = await ctx.run(lambda: merges(ctx.engine, page=page, per_page=PER_PAGE))
    pages = max(1, -(-total // PER_PAGE))
    return console.page(
        request, "console_merges.html", who, rows=rows, total=total, page=page, pages=pages
    )
