"""``/beheer/protocollen`` (issue 13): every protocol's versions on a timeline, for both
roles: hash, recorded signatures (who, when), status now, and a link to the rendered text
the provider publishes (``/op/v1/protocollen/{id}/{version}``, decree of 18 July 2008, art.
8 §1)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from starlette.responses import Response

from leerid.idp.console.guard import AnyStaff, ConsoleDep
from leerid.idp.store.console.protocols import timeline

__all__ = ["router"]

router = APIRouter()


@router.get("/beheer/protocollen")
async def protocols(request: Request, who: AnyStaff, console: ConsoleDep) -> Response:
    """Every protocol with its versions, newest first."""
    ctx = console.ctx
    now = dt.datetime.now(dt.UTC)
    lines = await ctx.run(timeline, ctx.engine, now)
    text_prefix = f"{ctx.settings.path}/v1/protocollen"
    return console.page(
        request, "console_protocols.html", who, protocols=lines, text_prefix=text_prefix
    )
