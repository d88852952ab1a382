"""``GET /op/v1/protocollen/{id}/{version}``: the text of a protocol version, as a page.

Decree of 18 July 2008, art. 8 §1: the protocol "wordt bekendgemaakt op de website van
beide partijen". DOV publishes every stored version, rendered from the stored protocol
(``leerid.protocol.render``: the same text ``leerid protocol render`` writes), signed only
as recorded (art. 11) and with its recorded end (art. 8). The pupil's page links each
release to the version it was made under (issue 12 §5). No login: the text is public.
"""

from __future__ import annotations

import logging
import re

from fastapi import APIRouter, Request
from starlette.responses import Response

from leerid.idp.context import get_context
from leerid.idp.store.protocol_texts import published_version
from leerid.protocol.render import render_text

__all__ = ["protocol_path", "router"]

router = APIRouter()
log = logging.getLogger(__name__)

_VERSION = re.compile(r"[1-9][0-9]{0,5}")
_ID_LIMIT = 100  # protocol_version.protocol_id is a String(100)
NOT_FOUND = (
    "Deze afspraak (dit protocol) of deze versie ervan bestaat niet bij LeerID. Kijk het adres "
    "na, of open de afspraak opnieuw vanaf de pagina Mijn gegevens."
)


def protocol_path(issuer_path: str, protocol_id: str, version: int) -> str:
    """Where the text of ``version`` of ``protocol_id`` is published."""
    return f"{issuer_path}/v1/protocollen/{protocol_id}/{version}"


@router.get("/v1/protocollen/{protocol_id}/{version}")
async def protocol_text(request: Request, protocol_id: str, version: str) -> Response:
    """The rendered text of the stored version, in DOV's page frame; 404 when unknown."""
    ctx = get_context(request)
    if len(protocol_id) > _ID_LIMIT or not _VERSION.fullmatch(version):
        return ctx.pages.render("error.html", "nl", 404, title="Niet gevonden", message=NOT_FOUND)
    stored = await ctx.run(published_version, ctx.engine, protocol_id, int(version))
    if stored is None:
        log.info("protocol text not found")
        return ctx.pages.render("error.html", "nl", 404, title="Niet gevonden", message=NOT_FOUND)
    return ctx.pages.render(
        "protocol.html",
        "nl",
        title=stored.protocol.title,
        version=stored.version,
        text=render_text(stored.protocol, stored.content_hash),
        my_data=f"{ctx.settings.path}/v1/mijn-gegevens",
    )
