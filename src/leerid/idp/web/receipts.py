"""``GET /op/v1/mijn-gegevens/bewijs/{leaf}``: the pupil downloads the "bewijs" of a release.

Issue 12 §5: each line of the pupil's page has a receipt a verifier checks offline
(``leerid log check-receipt FILE``; the format is ``leerid.transparency.receipt`` and
docs/transparency-log.md): the entry, its index, the RFC 9162 §2.1.3 inclusion proof to the
newest checkpoint, that checkpoint as a C2SP signed note with DOV's signature and the
witnesses' cosignatures, and the verifier keys.

Bound to the logged-in pupil exactly as the page is (``store.my_data``): a leaf hash that
is not the leaf of a release of *this* pupil's data, malformed, unknown or another pupil's,
gets one and the same 404, so the route tells nobody which entries exist. A release whose
entry is not yet in a checkpoint answers 503 with ``Retry-After`` (issue 12 §2: checkpoints
follow within seconds). A download is logged without the leaf or the account.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata

from fastapi import APIRouter, Request
from starlette.responses import Response

from leerid.errors import LeeridError
from leerid.idp.context import get_context
from leerid.idp.store.my_data import my_entry
from leerid.idp.store.tlog.receipts import entry_receipt
from leerid.idp.web.log import log_metadata
from leerid.idp.web.my_data import login_page
from leerid.protocol.lifecycle import BRUSSELS
from leerid.transparency.receipt import from_b64url
from leerid.transparency.rfc9162 import HASH_SIZE

__all__ = ["receipt_filename", "router"]

router = APIRouter()
log = logging.getLogger(__name__)

_LEAF_CHARS = -(-HASH_SIZE * 4 // 3)  # 43: a SHA-256 hash in base64url without padding
NOT_FOUND = (
    "Dit bewijs vinden we niet bij jouw gegevens. Open Mijn gegevens opnieuw en kies daar "
    "het bewijs dat je wilt downloaden."
)
BROKEN = (
    "LeerID kan dit bewijs nu niet maken. Dat is een fout bij LeerID, niet bij jou: we kijken "
    "het na. Probeer het later opnieuw."
)
NOT_YET = "Het bewijs is over enkele seconden klaar. Probeer het zo opnieuw."


def _leaf(text: str) -> bytes | None:
    """The leaf hash in the path (base64url without padding), or None when malformed."""
    if len(text) != _LEAF_CHARS:
        return None
    try:
        return from_b64url(text, "leaf")
    except ValueError:
        return None


def receipt_filename(service: str, moment_date: str) -> str:
    """``bewijs-<date>-<service>.json``: ASCII letters, digits and hyphens only."""
    ascii_name = unicodedata.normalize("NFKD", service).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:40].strip("-")
    return f"bewijs-{moment_date}-{slug or 'dienst'}.json"


@router.get("/v1/mijn-gegevens/bewijs/{leaf}")
async def download_receipt(request: Request, leaf: str) -> Response:
    """The receipt of one release of the logged-in pupil's data, as a JSON attachment."""
    ctx = get_context(request)
    session = await ctx.run(ctx.read_session, request)
    if session is None:
        return login_page(ctx, request)
    raw = _leaf(leaf)
    found = None if raw is None else await ctx.run(my_entry, ctx.engine, session.account_uuid, raw)
    if found is None:
        log.info("receipt refused reason=not_found")
        return ctx.pages.render("error.html", "nl", 404, title="Niet gevonden", message=NOT_FOUND)
    receipt = None
    if found.index is not None:
        vkey = log_metadata(ctx)["leerid_log_vkey"]
        try:
            receipt = await ctx.run(entry_receipt, ctx.engine, found.index, vkey)
        except LeeridError as exc:  # the stored log does not prove its own entry
            log.error("receipt not made: %s; run `leerid log verify`", exc.message)
            return ctx.pages.render("error.html", "nl", 500, title="Geen bewijs", message=BROKEN)
    if receipt is None:
        log.info("receipt refused reason=not_in_checkpoint")
        response = ctx.pages.render(
            "error.html", "nl", 503, title="Nog even geduld", message=NOT_YET
        )
        response.headers["Retry-After"] = "1"
        return response
    document, size = receipt
    day = found.disclosure.at.astimezone(BRUSSELS).date().isoformat()
    name = receipt_filename(found.disclosure.client_name, day)
    log.info("receipt downloaded checkpoint_size=%d", size)
    return Response(
        json.dumps(document, indent=2, ensure_ascii=True) + "\n",
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
