"""DOV's events endpoint ``POST /op/v1/events``: Security Event Tokens by poll (RFC 8936).

A service provider polls with the access token of its client credentials grant
(``Authorization: Bearer``, ``web/bearer``) and a JSON body (``oauth/rfc8936``). Each poll
first runs the publisher (bounded, never waiting for a busy feed), then, in one transaction,
processes the acknowledgements and errors and returns the oldest pending SETs of the caller
(§2.4): a SET is returned until it is acknowledged or reported in ``setErrs``, again
``LEERID_EVENTS_REDELIVER_SECONDS`` (30) after its last delivery (§2.4: "after a period of
time"), so that the recipient may ask for the next SETs while it applies these; at once
when the recipient lists it in ``leerid_redeliver`` (it could not process it).
Without ``returnImmediately`` the request is a long poll (§2.4.1): it waits up to
``LEERID_EVENTS_LONG_POLL_SECONDS`` (20) for a SET, looking twice a second (two indexed reads).
"""

from __future__ import annotations

import datetime as dt
import logging
import time

import anyio
from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from leerid.idp import metrics
from leerid.idp.context import IdpContext, get_context
from leerid.idp.oauth.errors import NO_STORE
from leerid.idp.oauth.rfc8936 import PollError, PollRequest, parse_poll
from leerid.idp.store.events import PollAnswers, PollResult
from leerid.idp.web.bearer import events_caller

__all__ = ["PUBLISH_PER_POLL", "publish_pending", "router"]

router = APIRouter()
log = logging.getLogger("leerid.idp.events")

PUBLISH_PER_POLL = 100
"""Changes one poll publishes at most before answering (the rest: next poll or the CLI)."""
_TICK = 0.5


def publish_pending(ctx: IdpContext) -> int:
    """Publish what the feed holds (bounded; skipped when another node is at it): SETs made."""
    if not ctx.store.events_behind():
        return 0
    done = ctx.store.publish_events(
        lambda: ctx.keys.signing_key("RS256"),
        ctx.settings.issuer,
        limit=PUBLISH_PER_POLL,
        wait=False,
    )
    metrics.SETS_PUBLISHED.inc(done.sets)
    return done.sets


def _poll_error(description: str) -> Response:
    """RFC 8936 §2.4.4: HTTP 400 with the error of RFC 8935 §2.3."""
    return JSONResponse(
        {"err": "invalid_request", "description": description}, 400, headers=NO_STORE
    )


def _answer(ctx: IdpContext, client_id: str, poll: PollRequest) -> PollResult:
    publish_pending(ctx)
    errors = {jti: (e.err, e.description) for jti, e in (poll.set_errs or {}).items()}
    result = ctx.store.poll_events(
        client_id,
        PollAnswers(poll.ack, errors, poll.redeliver, poll.resend_unacknowledged),
        poll.max_events,
        dt.datetime.now(dt.UTC),
        dt.timedelta(seconds=ctx.settings.events_redeliver),
    )
    metrics.SETS_ACKNOWLEDGED.inc(result.acked)
    for error in errors.values():
        metrics.SET_ERRORS.labels(error[0]).inc()
    if result.errors:
        log.info("client %s rejected %d SETs", client_id, result.errors)  # ids only
    return result


def _waiting(ctx: IdpContext, client_id: str) -> bool:
    now = dt.datetime.now(dt.UTC)
    return publish_pending(ctx) > 0 or ctx.store.has_pending_events(client_id, now)


async def events(request: Request) -> Response:
    """RFC 8936 §2.4: acknowledge, report errors, and fetch the next SETs."""
    ctx = get_context(request)
    caller = events_caller(ctx, request)
    if isinstance(caller, Response):
        return caller
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return _poll_error("send the poll as Content-Type: application/json (RFC 8936 §2.4)")
    try:
        poll = parse_poll(await request.body())
    except PollError as exc:
        return _poll_error(exc.description)
    result = await ctx.run(_answer, ctx, caller.client_id, poll)
    if not result.sets and poll.max_events and not poll.return_immediately:
        deadline = time.monotonic() + ctx.settings.events_long_poll
        while time.monotonic() < deadline and not await request.is_disconnected():
            await anyio.sleep(_TICK)
            if await ctx.run(_waiting, ctx, caller.client_id):
                again = PollRequest(poll.max_events, True)
                result = await ctx.run(_answer, ctx, caller.client_id, again)
                break
    metrics.SETS_DELIVERED.inc(len(result.sets))
    body = {"sets": dict(result.sets), "moreAvailable": result.more}
    return JSONResponse(body, headers=NO_STORE)


router.add_route("/v1/events", events, methods=["POST"])
