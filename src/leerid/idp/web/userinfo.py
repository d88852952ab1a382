"""The userinfo endpoint ``/op/v1/userinfo``, GET and POST (OIDC Core §5.3).

The bearer token comes in the ``Authorization`` header (RFC 6750 §2.1) or, with POST, in the
form body (§2.2). Art. 5: the pupil's data is fetched now; the claims are those of the ID
token, decided by the protocol; every answer is one disclosure record. Issue 12 §1: the
record is written with its transparency-log entry (one statement on PostgreSQL) and the
answer names the entry in the header ``LeerID-Log-Leaf`` (base64url leaf hash); when the log
refuses the entry nothing is released: 503 ``temporarily_unavailable``.
"""

from __future__ import annotations

import datetime as dt
import time
from functools import partial

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from leerid.idp import metrics
from leerid.idp.context import IdpContext, get_context
from leerid.idp.oauth.errors import NO_STORE
from leerid.idp.release import decide
from leerid.idp.store.disclosures import DisclosureEntry
from leerid.idp.store.interface import LogAppendError, leaf_text
from leerid.idp.web.errors import bearer_challenge, bearer_error, log_unavailable

__all__ = ["LOG_LEAF_HEADER", "TwoTokensError", "bearer_token", "router"]

LOG_LEAF_HEADER = "LeerID-Log-Leaf"
"""Issue 12 §1: the header with the leaf hash of the answer's disclosure entry."""

router = APIRouter()


class TwoTokensError(Exception):
    """The access token came in the header and in the body (RFC 6750 §2)."""


async def bearer_token(request: Request) -> str | None:
    """RFC 6750 §2.1 and §2.2: the access token of the request, or None."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    in_header = value.strip() if scheme.lower() == "bearer" and value.strip() else None
    in_body = None
    if request.method == "POST":
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "application/x-www-form-urlencoded":
            form = await request.form()
            token = form.get("access_token")
            if isinstance(token, str) and token:
                in_body = token
    if in_header is not None and in_body is not None:
        raise TwoTokensError()  # RFC 6750 §2: a client MUST NOT use more than one method
    return in_header or in_body


def _userinfo(ctx: IdpContext, token: str) -> Response:
    now = dt.datetime.now(dt.UTC)
    with ctx.store.connect() as db:  # one connection: the token with its pupil, the record
        grant, pupil, (stored_protocol, ended) = db.access_with_pupil(token, now)
        if grant is None:
            return bearer_error("invalid_token", "the access token is unknown, expired or revoked")
        client = ctx.clients.get(grant.client_id)
        if client is None:
            return bearer_error("invalid_token", "the client of this token is disabled")
        # Art. 8, 11: the end of the protocol, as the token's read saw it; a client whose
        # protocol changed since this process cached it is read as before
        if stored_protocol == client.protocol_id:
            protocol = ctx.protocols.current(client.protocol_id, ended)
        else:
            protocol = ctx.protocols.get(client.protocol_id)
        # OIDC Core §5.3.2: the ``sub`` of the ID token (issue 14 point 2: the client's)
        release = decide(protocol, grant.scope.split(), pupil, now, sub=partial(ctx.sub, client))
        entry = DisclosureEntry(
            client_id=client.client_id,
            endpoint="userinfo",
            claims=release.claims.keys(),
            protocol_id=client.protocol_id,
            protocol_hash=protocol.content_hash if protocol else None,
            leer_id_uuid=release.pupil.leer_id_uuid if release.pupil else None,
            account_uuid=grant.account_uuid,
            outcome="refused" if release.refused else "released",
            reason=release.refused,
        )
        try:
            leaf = db.record_disclosure(entry)  # one statement (PostgreSQL, autocommit)
        except LogAppendError:
            return log_unavailable()  # issue 12 §1: fail closed
    if release.refused is not None or "sub" not in release.claims:
        metrics.LOGIN_FAILURES.labels(release.refused or "protocol_releases_no_sub").inc()
        answer = bearer_error(
            "invalid_token", f"no data may be released to this client ({release.refused})", 401
        )
    else:
        answer = JSONResponse(release.claims, headers=NO_STORE)
    answer.headers[LOG_LEAF_HEADER] = leaf_text(leaf)
    return answer


async def userinfo(request: Request) -> Response:
    """The claims the protocol allows for the token's scopes."""
    started = time.perf_counter()
    ctx = get_context(request)
    try:
        token = await bearer_token(request)
    except TwoTokensError:
        return bearer_error("invalid_request", "send the access token in one place only", 400)
    if token is None:
        return bearer_challenge("send the access token as a Bearer token")
    response = await ctx.run(_userinfo, ctx, token)
    metrics.USERINFO_LATENCY.observe(time.perf_counter() - started)
    return response


# A plain Starlette route: the hot path skips FastAPI's dependency solving per request.
router.add_route("/v1/userinfo", userinfo, methods=["GET", "POST"])
