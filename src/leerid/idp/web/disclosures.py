"""``GET /op/v1/disclosures/mine``: a pupil's own disclosures to the calling provider.

GDPR art. 15 and art. 6 of the protocol (transparency on the disclosures): a service
provider's portal shows a logged-in pupil what the Department released to that provider.
Authorised with the pupil's own access token (RFC 6750), so the answer is always about the
token's pupil and the token's client: a provider cannot ask about any other pupil, nor see
what was released to other providers.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from leerid.idp.context import get_context
from leerid.idp.oauth.errors import NO_STORE
from leerid.idp.store.interface import IdpStore
from leerid.idp.web.errors import bearer_challenge, bearer_error
from leerid.idp.web.userinfo import TwoTokensError, bearer_token

__all__ = ["router"]

router = APIRouter()


def _mine(store: IdpStore, token: str) -> dict[str, Any] | None:
    now = dt.datetime.now(dt.UTC)
    grant = store.find_access_token(token, now)
    if grant is None:
        return None
    # GDPR art. 15: the pupil's whole history, under every account it has or had.
    ordered = store.pupil_history(grant.account_uuid, grant.client_id)
    return {
        "client_id": grant.client_id,
        "disclosures": [
            {
                "at": r.at.isoformat(),
                "endpoint": r.endpoint,
                "claims": list(r.claims),
                "protocol_id": r.protocol_id,
                "protocol_hash": r.protocol_hash,
                "outcome": r.outcome,
                "reason": r.reason,
            }
            for r in ordered
        ],
    }


@router.get("/v1/disclosures/mine")
async def my_disclosures(request: Request) -> Response:
    """The disclosures of the token's pupil to the token's client, newest first."""
    try:
        token = await bearer_token(request)
    except TwoTokensError:
        return bearer_error("invalid_request", "send the access token in one place only", 400)
    if token is None:
        return bearer_challenge("send the pupil's access token as a Bearer token")
    data = await asyncio.to_thread(_mine, get_context(request).store, token)
    if data is None:
        return bearer_error("invalid_token", "the access token is unknown, expired or revoked")
    return JSONResponse(data, headers=NO_STORE)
