"""Art. 4: ``POST /op/v1/service-providers/lookup``: is this organisation a LeerID service
provider?

"In het bijzonder is het niet toegelaten dat de Dienstenleverancier de gegevens zoals vermeld
in artikel 3 meedeelt aan andere dienstenleveranciers die (willen) aansluiten op Leer_ID."
A recipient asks before it registers an onward recipient and again before each export,
client-authenticated exactly as a notice (form: ``kbo``); the answer is
``{"kbo": "0123.456.789", "leerid_service_provider": true|false}``. DOV's client registry and
its stored protocols decide (``idp.store.service_providers``).
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from leerid.errors import LeeridError
from leerid.idp.context import get_context
from leerid.idp.oauth.errors import NO_STORE
from leerid.idp.store.service_providers import is_leerid_service_provider, kbo_parameter
from leerid.idp.web.quality_reports import authenticated_client

__all__ = ["router"]

router = APIRouter()
log = logging.getLogger(__name__)


@router.post("/v1/service-providers/lookup")
async def lookup(request: Request) -> Response:
    """Art. 4: whether the KBO number ``kbo`` belongs to a LeerID service provider."""
    auth = await authenticated_client(request)
    if isinstance(auth, Response):
        return auth
    client_id, form = auth
    try:
        kbo = kbo_parameter(form.get("kbo", ""))
    except LeeridError as exc:
        body = {"error": "invalid_request", "error_description": exc.message}
        return JSONResponse(body, 400, headers=NO_STORE)
    found = await asyncio.to_thread(is_leerid_service_provider, get_context(request).engine, kbo)
    log.info("service-provider lookup client=%s kbo=%s answer=%s", client_id, kbo, found)
    return JSONResponse({"kbo": kbo, "leerid_service_provider": found}, headers=NO_STORE)
