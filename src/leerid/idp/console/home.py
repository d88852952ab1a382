"""The console's start page (``/beheer``), its stylesheet, and the page for an unknown path."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from starlette.responses import FileResponse, Response

from leerid.idp.console.guard import AnyStaff, ConsoleDep, Staff, open_session
from leerid.idp.store.console.attention import attention
from leerid.idp.store.console.protocols import awaiting_signature
from leerid.idp.store.console.staff import active_staff
from leerid.idp.web.pages import STATIC

__all__ = ["fallback", "router"]

router = APIRouter()
fallback = APIRouter()
"""Mounted after every other router of the console: a 404 page for any other ``/beheer`` path."""


@router.get("/beheer")
async def home(request: Request, who: AnyStaff, console: ConsoleDep) -> Response:
    """What needs attention: the last import, open reports and breaches."""
    ctx = console.ctx
    figures = await ctx.run(attention, ctx.engine)
    awaiting = await ctx.run(awaiting_signature, ctx.engine, dt.datetime.now(dt.UTC))
    return console.page(request, "console_home.html", who, figures=figures, awaiting=awaiting)


@router.get("/beheer/static/console.css", include_in_schema=False)
async def stylesheet() -> Response:
    return FileResponse(STATIC / "console.css", headers={"Cache-Control": "public, max-age=3600"})


@fallback.api_route(
    "/beheer/{rest:path}",
    methods=["GET", "POST", "PUT", "DELETE", "PATCH"],
    include_in_schema=False,
)
async def not_found(request: Request, console: ConsoleDep) -> Response:
    """Any other path under /beheer: a 404 page in the console's words."""
    session = open_session(console, request)
    account = None
    if session is not None:
        account = await console.ctx.run(active_staff, console.ctx.engine, session["u"])
    who = None
    if account is not None and session is not None:
        who = Staff(account.username, account.role, str(session["c"]))
    text = "Deze pagina bestaat niet. Ga terug naar de startpagina."
    return console.message(who, "Niet gevonden", text, 404)
