"""Token introspection ``/op/v1/introspect`` (RFC 7662), for authenticated clients.

RFC 7662 §2.2 lets the server limit what it reveals: a client learns about its own tokens
only; any other token is ``{"active": false}``. The answer names the pupil (``sub``, in the
client's terms as in its ID tokens: issue 14 point 2), so it is a release and is recorded
in the disclosure log, with its transparency-log entry (issue 12 §1), named in the header
``LeerID-Log-Leaf``; when the log refuses the entry nothing is released: 503
``temporarily_unavailable``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from leerid.idp.context import IdpContext
from leerid.idp.oauth.errors import NO_STORE
from leerid.idp.store.clients import Client
from leerid.idp.store.disclosures import DisclosureEntry
from leerid.idp.store.interface import LogAppendError, leaf_text
from leerid.idp.web.client_auth import token_request
from leerid.idp.web.errors import log_unavailable
from leerid.idp.web.userinfo import LOG_LEAF_HEADER

__all__ = ["router"]

router = APIRouter()


@router.post("/v1/introspect")
async def introspect(request: Request) -> Response:
    """RFC 7662 §2.1: is this token active, and what is it about?"""
    asked = await token_request(request)
    if isinstance(asked, Response):
        return asked
    try:
        body, leaf = await asked.ctx.run(
            _introspect, asked.ctx, asked.client, asked.form, asked.token
        )
    except LogAppendError:
        return log_unavailable()  # issue 12 §1: fail closed
    headers = dict(NO_STORE)
    if leaf is not None:
        headers[LOG_LEAF_HEADER] = leaf_text(leaf)
    return JSONResponse(body, headers=headers)


def _introspect(
    ctx: IdpContext, client: Client, form: dict[str, str], token: str
) -> tuple[dict[str, Any], bytes | None]:
    """The answer, and the leaf hash of its disclosure entry when it names a pupil."""
    now = dt.datetime.now(dt.UTC)
    hint = form.get("token_type_hint")
    access = None if hint == "refresh_token" else ctx.store.find_access_token(token, now)
    account_uuid: str | None
    if access is not None and access.client_id == client.client_id:
        body: dict[str, Any] = {
            "active": True,
            "scope": access.scope,
            "client_id": access.client_id,
            "token_type": "Bearer",
            "exp": int(access.expires_at.timestamp()),
            "iat": int(access.issued_at.timestamp()),
            "sub": ctx.sub(client, access.account_uuid),
            "iss": ctx.settings.issuer,
        }
        account_uuid = access.account_uuid
    else:
        body, account_uuid = _refresh_body(ctx, client, token, now)
    if account_uuid is None:
        return body, None
    protocol = ctx.protocols.get(client.protocol_id)
    leaf = ctx.store.record_disclosure(
        DisclosureEntry(
            client_id=client.client_id,
            endpoint="introspect",
            claims=("sub",),
            protocol_id=client.protocol_id,
            protocol_hash=protocol.content_hash if protocol else None,
            leer_id_uuid=None,
            account_uuid=account_uuid,  # the record names the account, ``sub`` or not
        )
    )
    return body, leaf


def _refresh_body(
    ctx: IdpContext, client: Client, token: str, now: dt.datetime
) -> tuple[dict[str, Any], str | None]:
    """RFC 7662 §2.2 for a refresh token of ``client`` (inactive otherwise), and its
    account."""
    refresh = ctx.store.find_refresh_token(token)
    if (
        refresh is None
        or refresh.client_id != client.client_id
        or refresh.used
        or refresh.revoked
        or refresh.expires_at <= now
    ):
        return {"active": False}, None
    body = {
        "active": True,
        "scope": refresh.scope,
        "client_id": refresh.client_id,
        "token_type": "refresh_token",
        "exp": int(refresh.expires_at.timestamp()),
        "sub": ctx.sub(client, refresh.account_uuid),
        "iss": ctx.settings.issuer,
    }
    return body, refresh.account_uuid
