"""DOV's evidence of its measures on request (``/beheer/bewijs``, art. 6), as a page and as a
JSON download; the same facts as ``leerid evidence``. Both roles may see it: it holds no
pupil data."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from starlette.responses import Response

from leerid.idp.console.guard import AnyStaff, ConsoleDep
from leerid.idp.store.console.evidence import collect

__all__ = ["router"]

router = APIRouter()
PAGE = "/beheer/bewijs"


@router.get(PAGE)
async def evidence_page(request: Request, who: AnyStaff, console: ConsoleDep) -> Response:
    """Art. 6: per measure its facts and "aangetoond" or "niet aangetoond"."""
    ctx = console.ctx
    found = await ctx.run(collect, ctx.engine, ctx.settings)
    return console.page(request, "console_evidence.html", who, evidence=found)


@router.get(PAGE + ".json")
async def evidence_json(who: AnyStaff, console: ConsoleDep) -> Response:
    """Art. 6: the same evidence as a JSON file, to hand to the party that asked."""
    ctx = console.ctx
    found = await ctx.run(collect, ctx.engine, ctx.settings)
    name = f"dov-bewijs-{found.generated:%Y%m%d-%H%M}.json"
    return Response(
        json.dumps(found.as_json(), ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
