"""Token introspection ``/op/v1/introspect`` (RFC 7662), for authenticated clients.

RFC 7662 §2.2 lets the server limit what it reveals: a client learns about its own tokens
only; any other token is ``{"active": false}``. The answer names the pupil (``sub``), so it
is a release and is recorded in the disclosure log.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from leerid.idp.context import IdpContext
from leerid.idp.oauth.errors import NO_STORE
from leerid.idp.store import grants
from leerid.idp.store.clients import Client
from leerid.idp.store.disclosures import record_disclosure
from leerid.idp.web.client_auth import token_request

__all__ = ["router"]

router = APIRouter()


@router.post("/v1/introspect")
async def introspect(request: Request) -> Response:
    """RFC 7662 §2.1: is this token active, and what is it about?"""
    asked = await token_request(request)
    if isinstance(asked, Response):
        return asked
    body = await asked.ctx.run(_introspect, asked.ctx, asked.client, asked.form, asked.token)
    return JSONResponse(body, headers=NO_STORE)


def _introspect(
    ctx: IdpContext, client: Client, form: dict[str, str], token: str
) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    body: dict[str, Any] = {"active": False}
    hint = form.get("token_type_hint")
    with ctx.engine.begin() as conn:
        access = None if hint == "refresh_token" else grants.find_access_token(conn, token, now)
        if access is not None and access.client_id == client.client_id:
            body = {
                "active": True,
                "scope": access.scope,
                "client_id": access.client_id,
                "token_type": "Bearer",
                "exp": int(access.expires_at.timestamp()),
                "iat": int(access.issued_at.timestamp()),
                "sub": access.account_uuid,
                "iss": ctx.settings.issuer,
            }
        else:
            refresh = grants.find_refresh_token(conn, token)
            if (
                refresh is not None
                and refresh.client_id == client.client_id
                and not refresh.used
                and not refresh.revoked
                and refresh.expires_at > now
            ):
                body = {
                    "active": True,
                    "scope": refresh.scope,
                    "client_id": refresh.client_id,
                    "token_type": "refresh_token",
                    "exp": int(refresh.expires_at.timestamp()),
                    "sub": refresh.account_uuid,
                    "iss": ctx.settings.issuer,
                }
        if body["active"]:
            protocol = ctx.protocols.get(client.protocol_id)
            record_disclosure(
                conn,
                client_id=client.client_id,
                endpoint="introspect",
                claims=("sub",),
                protocol_id=client.protocol_id,
                protocol_hash=protocol.content_hash if protocol else None,
                leer_id_uuid=None,
                account_uuid=body["sub"],
            )
    return body
