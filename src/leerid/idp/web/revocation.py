"""Token revocation ``/op/v1/revoke`` (RFC 7009), for authenticated clients.

RFC 7009 §2.2: the answer is 200 whether or not the token was known (no oracle). A client
revokes only its own tokens; revoking a refresh token revokes its family's tokens.
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from starlette.responses import Response

from leerid.idp.context import IdpContext
from leerid.idp.oauth.errors import NO_STORE
from leerid.idp.web.client_auth import token_request

__all__ = ["router"]

router = APIRouter()


@router.post("/v1/revoke")
async def revoke(request: Request) -> Response:
    """RFC 7009 §2.1: revoke an access or refresh token of the authenticated client."""
    asked = await token_request(request)
    if isinstance(asked, Response):
        return asked
    await asked.ctx.run(_revoke, asked.ctx, asked.token, asked.client.client_id)
    return Response(status_code=200, headers=NO_STORE)


def _revoke(ctx: IdpContext, token: str, client_id: str) -> None:
    now = dt.datetime.now(dt.UTC)
    ctx.store.revoke_token(token, client_id, now)
