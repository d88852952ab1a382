"""Art. 9 and art. 6: ``POST /op/v1/notices`` and ``POST /op/v1/notices/processors``.

A recipient tells the Department at once of a change in law with impact on the protocol or
of a change of processors (art. 9, second paragraph), client-authenticated exactly as a
data-quality report, or with a Bearer token of scope ``leerid:notices`` (issue 14 §4); a
``verwerkers`` notice carries its processor list (``processors``, a JSON list of name,
purpose, location, since). It asks for the Department's own processor list at
``/notices/processors`` (art. 6: "Partijen bezorgen elkaar een overzicht van de
verwerkers"), answered from the file ``LEERID_DOV_PROCESSORS_FILE`` names.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from leerid.errors import LeeridError
from leerid.idp.context import get_context
from leerid.idp.oauth.errors import NO_STORE
from leerid.idp.oauth.profiles import NOTICES_SCOPE
from leerid.idp.store.notices import check_notice, store_notice
from leerid.idp.web.bearer import api_client
from leerid.processors import load_processor_file

__all__ = ["router"]

router = APIRouter()
log = logging.getLogger(__name__)


_JSON_FIELDS = {
    "processors": "a JSON list of name, purpose, location, since",
    "onward_recipient": "a JSON object of name, kbo, purpose, legal_basis",
}


def _bad(description: str, status: int = 400) -> Response:
    return JSONResponse({"error": "invalid_request", "error_description": description}, status)


@router.post("/v1/notices")
async def receive_notice(request: Request) -> Response:
    """Art. 9: a recipient's notice of a change in law or of processors."""
    auth = await api_client(request, NOTICES_SCOPE)
    if isinstance(auth, Response):
        return auth
    client_id, form = auth
    kind, text = form.get("kind", "").strip(), form.get("text", "")
    parsed: dict[str, Any] = {}
    for name, shape in _JSON_FIELDS.items():
        try:
            parsed[name] = json.loads(form[name]) if form.get(name) else None
        except ValueError:
            return _bad(f"{name} must be {shape}")
    processors, onward = parsed["processors"], parsed["onward_recipient"]
    wrong = check_notice(kind, text, processors, onward)
    if wrong is not None:
        return _bad(wrong)
    engine = get_context(request).engine
    notice, answered = await asyncio.to_thread(
        store_notice, engine, client_id, kind, text, processors, onward
    )
    log.info("notice received client=%s kind=%s id=%s", client_id, kind, notice.id)
    return JSONResponse(
        {
            "id": str(notice.id),
            "received_at": notice.received_at.isoformat(),
            "answered_requests": answered,
        },
        201,
    )


@router.post("/v1/notices/processors")
async def dov_processors(request: Request) -> Response:
    """Art. 6: the Department's current processor list, for an authenticated recipient."""
    auth = await api_client(request, NOTICES_SCOPE)
    if isinstance(auth, Response):
        return auth
    path = get_context(request).settings.processors_file
    if not path:
        return JSONResponse(
            {
                "error": "not_found",
                "error_description": "the Department has not published its processor list; "
                "ask its DPO (the operator sets LEERID_DOV_PROCESSORS_FILE)",
            },
            404,
        )
    try:
        listed = await asyncio.to_thread(load_processor_file, Path(path))
    except LeeridError as exc:
        log.error("LEERID_DOV_PROCESSORS_FILE is not usable: %s", exc.message)
        return JSONResponse(
            {
                "error": "temporarily_unavailable",
                "error_description": "the Department's processor list cannot be read; ask its DPO",
            },
            503,
        )
    return JSONResponse({"processors": [p.as_json() for p in listed]}, headers=NO_STORE)
