"""The login form's handler: a pupil's username and password, then back to the client.

Issue 4 §4: one answer for an unknown username and a wrong password (same text, and the
same Argon2id work through a dummy hash); the login throttle (``throttle.py``) delays and
locks per account and per address; CSRF: the form must come back with the token of this
browser's cookie, sealed into the pending request as well. Hot path: one read of the
credential, the hash in the bounded pool, one INSERT (the code); the SSO session is a sealed
cookie.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from functools import partial
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from starlette.background import BackgroundTask
from starlette.responses import Response

from leerid.idp import metrics
from leerid.idp.context import CSRF_COOKIE, SESSION_COOKIE, IdpContext, SsoSession, get_context
from leerid.idp.login.throttle import lock_end_text
from leerid.idp.oauth.authorization_request import AuthorizationRequest
from leerid.idp.store.clients import Client
from leerid.idp.store.disclosures import DisclosureEntry
from leerid.idp.web.authorization import (
    ended_refusal,
    finish_authorization,
    protocol_refusal,
    render_login,
)
from leerid.idp.web.i18n import TEXTS
from leerid.registry.models import AccountStatus

__all__ = ["Refusal", "client_address", "form_fields", "router", "verify_credentials"]

router = APIRouter()
log = logging.getLogger(__name__)


def client_address(request: Request) -> str:
    """The address the throttle counts per (the TCP peer; proxies are not trusted)."""
    return request.client.host if request.client else "unknown"


def _refused(ctx: IdpContext, client_id: str, account_uuid: str, reason: str) -> None:
    """Issue 4 §5: a refused login of a known account is recorded with its reason, in DOV's
    private disclosure log only: it released nothing, and a public transparency-log entry
    (issue 12) for a known username, none for an unknown one, would reveal which usernames
    exist. A database that fails here leaves a warning (the answer is sent already)."""
    entry = DisclosureEntry(
        client_id=client_id,
        endpoint="login",
        claims=(),
        protocol_id=None,
        protocol_hash=None,
        leer_id_uuid=None,
        account_uuid=account_uuid,
        outcome="refused",
        reason=reason,
    )
    ctx.store.record_refusal(entry)


async def form_fields(request: Request) -> dict[str, str]:
    """The login form's fields (urlencoded, as browsers send it; multipart as a fallback)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/x-www-form-urlencoded":
        body = await request.body()
        if len(body) > 65536:
            return {}
        return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


@dataclass(frozen=True)
class _Form:
    """A login form that came back intact: its request, client and this browser's request."""

    ctx: IdpContext
    request: Request
    pending: AuthorizationRequest
    client: Client

    def again(self, errors: dict[str, str], username: str, status_code: int = 200) -> Response:
        """The login page once more, with ``errors``."""
        return render_login(
            self.ctx,
            self.request,
            self.pending,
            self.client.name,
            errors=errors,
            username=username,
            status_code=status_code,
        )


@router.post("/v1/login")
async def login(request: Request) -> Response:
    """Check the pupil's credentials; on success set the SSO cookie and return a code."""
    started = time.perf_counter()
    ctx = get_context(request)
    field = await form_fields(request)
    form = _open_form(ctx, request, field)
    if isinstance(form, Response):
        return form
    t = TEXTS[form.pending.lang]
    username = field.get("username", "").strip().lower()  # usernames are issued in lowercase
    password = field.get("password", "")
    if not username or not password:
        errors = {}
        if not username:
            errors["username"] = t["error_username_missing"]
        if not password:
            errors["password"] = t["error_password_missing"]
        return form.again(errors, username)
    username, password = username[:64], password[:1024]
    address = client_address(request)
    checked = await verify_credentials(ctx, username, password, address)
    if isinstance(checked, Refusal):
        return _refusal(form, username, checked)
    response = await _logged_in(form, checked)
    metrics.REQUEST_LATENCY.labels("login").observe(time.perf_counter() - started)
    return response


@dataclass(frozen=True)
class Refusal:
    """Why a username and password did not log in: throttled, or bad credentials."""

    throttled_until: str | None  # the lock's end, as the page says it
    account_uuid: str | None  # a known account (its refusal goes in the disclosure log)
    reason: str  # throttled | unknown_username | wrong_password | account_retired


async def verify_credentials(
    ctx: IdpContext, username: str, password: str, address: str
) -> str | Refusal:
    """Issue 4 §4, issue 8 §5: the throttle, then the password; the account_uuid, or why not.

    One answer for an unknown username, a wrong password and a retired account; the throttle
    counts the failure and the success; a hash made with older parameters is upgraded. The
    one path of every password login (the authorization's form and the pupil's own page)."""
    verdict = await ctx.throttle.admit(username, address)  # issue 8 §5: reserved before the hash
    if verdict.delay > 0:
        await asyncio.sleep(verdict.delay)
    if not verdict.allowed:
        metrics.LOGIN_FAILURES.labels("throttled").inc()
        return Refusal(lock_end_text(verdict.retry_after), None, "throttled")
    account_uuid, stored_hash, status = await ctx.run(ctx.store.credential, username)
    metrics.PASSWORD_CHECKS.inc()
    ok, new_hash = await ctx.hasher.verify(stored_hash, password)
    if not ok or status == AccountStatus.RETIRED:
        await ctx.throttle.record_failure(username, address)
        reason = "unknown_username" if account_uuid is None else "wrong_password"
        if status == AccountStatus.RETIRED:
            reason = "account_retired"
        # /metrics is public: one label for all three, or its counters would tell whether
        # a username exists (issue 4 §4); the disclosure log keeps the precise reason.
        metrics.LOGIN_FAILURES.labels("bad_credentials").inc()
        return Refusal(None, account_uuid, reason)
    assert account_uuid is not None
    await ctx.throttle.record_success(username, address)
    if new_hash is not None:  # issue 4 §4: upgrade the hash when the parameters changed
        ctx.store.upgrade_password_hash(account_uuid, new_hash)
    return account_uuid


def _open_form(ctx: IdpContext, request: Request, field: dict[str, str]) -> _Form | Response:
    """The sealed request, the CSRF token (cookie, field and seal agree) and the client."""
    pending = AuthorizationRequest.from_sealed(ctx.sealer.open("pending", field.get("request")))
    if pending is None:
        metrics.LOGIN_FAILURES.labels("expired_form").inc()
        return ctx.pages.error("nl", TEXTS["nl"]["error_expired"])
    lang = pending.lang
    t = TEXTS[lang]
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = field.get("csrf_token", "")
    if not (
        cookie
        and hmac.compare_digest(sent.encode(), cookie.encode())
        and hmac.compare_digest(pending.csrf.encode(), cookie.encode())
    ):
        metrics.LOGIN_FAILURES.labels("csrf").inc()
        return ctx.pages.error(lang, t["error_csrf"], 403)
    client = ctx.clients.get(pending.client_id)
    if client is None:
        return ctx.pages.error(lang, t["error_unknown_client"])
    if not pending.fits(client.rules, client.auth_method != "none"):  # issue 14: profile changed
        metrics.LOGIN_FAILURES.labels("expired_form").inc()
        return ctx.pages.error(lang, t["error_expired"])
    return _Form(ctx, request, pending, client)


def _refusal(form: _Form, username: str, refusal: Refusal) -> Response:
    """The login page again: throttled (429), or one answer for every bad credential."""
    t = TEXTS[form.pending.lang]
    if refusal.throttled_until is not None:
        return form.again(
            {"username": t["error_throttled"].format(time=refusal.throttled_until)}, username, 429
        )
    ctx, client = form.ctx, form.client
    log.info("login refused client=%s reason=%s", client.client_id, refusal.reason)
    refused = form.again({"username": t["error_credentials"]}, username)
    if refusal.account_uuid is not None:
        # Written after the answer is sent, so that a known username does not answer
        # later than an unknown one (no enumeration by timing).
        refused.background = BackgroundTask(
            _refused, ctx, client.client_id, refusal.account_uuid, refusal.reason
        )
    return refused


async def _logged_in(form: _Form, account_uuid: str) -> Response:
    """A good password: a new SSO session and the code back to the client."""
    ctx = form.ctx
    client = form.client
    # Art. 8, 11: a form opened before the protocol's end and posted after it gets no code;
    # the end known to this process is checked here, one not seen yet by the code's INSERT.
    protocol = await ctx.run(ctx.protocols.current, client.protocol_id, False)
    refusal = protocol_refusal(ctx, client, protocol, form.pending.lang)
    if refusal is not None:
        return refusal
    session = SsoSession(secrets.token_hex(16), account_uuid, int(time.time()))
    response = await ctx.run(
        partial(finish_authorization, unless_protocol_ended=client.protocol_id),
        ctx,
        form.pending,
        session,
    )
    if response is None:  # a new session cannot have been ended: the protocol was
        ended = await ctx.run(ended_refusal, ctx, client, form.pending.lang)
        assert ended is not None  # an end in effect is final
        return ended
    ctx.set_cookie(
        response, SESSION_COOKIE, ctx.seal_session(session), ctx.settings.session_lifetime
    )
    metrics.LOGINS.labels("password").inc()
    log.info("login ok client=%s method=password", client.client_id)
    return response
