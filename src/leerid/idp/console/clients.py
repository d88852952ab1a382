"""``/beheer/clients`` (issue 13): each client with its protocol, redirect URIs, keys (kid
and alg only) and last activity; both roles (no pupil data)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from leerid.idp.console.guard import AnyStaff, ConsoleDep
from leerid.idp.store.console.clients import client_lines

__all__ = ["router"]

router = APIRouter()


@router.get("/beheer/clients")
async def clients(request: Request, who: AnyStaff, console: ConsoleDep) -> Response:
    """Every client, oldest first."""
    ctx = console.ctx
    lines = await ctx.run(client_lines, ctx.engine)
    return console.page(request, "console_clients.html", who, clients=lines)
