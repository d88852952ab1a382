"""Art. 7: ``POST /op/v1/quality-reports``, where service providers report wrong data.

A service provider that finds a wrong, inaccurate, incomplete, missing, outdated or superfluous
attribute reports it at once in writing, client-authenticated as at the token endpoint or with
a Bearer token of scope ``leerid:quality-reports`` (issue 14 §4, ``web/bearer``). It
reads the status back with ``POST /op/v1/quality-reports/status`` (only its own reports), and
answers a report the Department sent it with ``POST /op/v1/quality-reports/answers``.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from leerid.idp.context import get_context
from leerid.idp.oauth.profiles import QUALITY_REPORTS_SCOPE
from leerid.idp.store.quality_reports import check_report, statuses_for, store_report
from leerid.idp.store.report_directions import AnswerRefusedError, record_answer
from leerid.idp.web.bearer import api_client

__all__ = ["authenticated_client", "router"]

router = APIRouter()


async def authenticated_client(request: Request) -> tuple[str, dict[str, str]] | Response:
    """The calling client (authenticated as at the token endpoint) and its form, or the 401."""
    return await api_client(request, None)


@router.post("/v1/quality-reports")
async def receive_report(request: Request) -> Response:
    """Art. 7: a service provider reports wrong or outdated data of a pupil."""
    auth = await api_client(request, QUALITY_REPORTS_SCOPE)
    if isinstance(auth, Response):
        return auth
    client_id, form = auth
    fields = [form.get(k, "").strip() for k in ("pupil_key", "attribute", "problem", "comment")]
    problem = check_report(*fields)
    if problem is not None:
        return JSONResponse({"error": "invalid_request", "error_description": problem}, 400)
    view = await asyncio.to_thread(store_report, get_context(request).engine, client_id, *fields)
    return JSONResponse(
        {"id": view.code, "status": view.status, "received_at": view.received_at.isoformat()},
        201,
    )


@router.post("/v1/quality-reports/status")
async def report_status(request: Request) -> Response:
    """Art. 7: the provider reads back the status of its own reports."""
    auth = await api_client(request, QUALITY_REPORTS_SCOPE)
    if isinstance(auth, Response):
        return auth
    client_id, form = auth
    ids = form.get("ids", "").split()
    views = await asyncio.to_thread(statuses_for, get_context(request).engine, client_id, ids)
    return JSONResponse(
        {
            "reports": [
                {
                    "id": v.code,  # art. 7: the one identifier both sides show
                    "previous_id": v.id,  # what reports sent before the codes were kept under
                    "status": v.status,
                    "resolution": v.resolution,
                    "closed_at": v.closed_at.isoformat() if v.closed_at else None,
                }
                for v in views
            ]
        }
    )


@router.post("/v1/quality-reports/answers")
async def answer_report(request: Request) -> Response:
    """Art. 7: the recipient answers a report the Department (or a pupil through it) sent it."""
    auth = await api_client(request, QUALITY_REPORTS_SCOPE)
    if isinstance(auth, Response):
        return auth
    client_id, form = auth
    code, status, text = (form.get(k, "") for k in ("code", "status", "text"))
    try:
        view = await asyncio.to_thread(
            record_answer, get_context(request).engine, client_id, code, status.strip(), text
        )
    except AnswerRefusedError as refused:
        error = "not_found" if refused.status == 404 else "invalid_request"
        return JSONResponse(
            {"error": error, "error_description": refused.description}, refused.status
        )
    assert view.answered_at is not None
    return JSONResponse(
        {"id": view.code, "answer": view.answer_status, "at": view.answered_at.isoformat()}
    )
