"""Logging in and out of the console (issue 13): ``/beheer/aanmelden``, ``/beheer/afmelden``.

Security (issue 4 §4, the same rules as the pupils' login): Argon2id through the provider's
hasher; one answer, in the same time, for an unknown username and a wrong password (an
unknown one is checked against a dummy hash); the provider's login throttle under a key
namespace of its own (``beheer:``), so a pupil's and a staff member's name never share a
counter; a CSRF token on the login form (a cookie of its own, SameSite=Strict) and in the
session. The session is a cookie sealed by the provider's ``Sealer`` for its own purpose,
HttpOnly, SameSite=Strict, Secure under https, path ``/beheer``, 8 hours.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import logging
import secrets
import time
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from leerid.idp.console.guard import SESSION_COOKIE, SESSION_PURPOSE, ConsoleDep, open_session
from leerid.idp.console.pages import Console
from leerid.idp.login.throttle import lock_end_text
from leerid.idp.store.console.staff import (
    active_staff,
    normalise_username,
    stored_hash,
    upgrade_hash,
)
from leerid.idp.web.login import client_address, form_fields

__all__ = ["LIFETIME", "THROTTLE_NAMESPACE", "router"]

router = APIRouter()
log = logging.getLogger(__name__)

LIFETIME = 8 * 3600
"""Seconds a console session lasts from the login (then log in again)."""
THROTTLE_NAMESPACE = "beheer:"
"""Prefixed to the username and the address the throttle counts: never a pupil's counter."""
LOGIN_CSRF = "beheer_aanmelden"
CREDENTIALS = "Gebruikersnaam of wachtwoord klopt niet."


def _login_page(
    console: Console,
    request: Request,
    *,
    errors: dict[str, str] | None = None,
    username: str = "",
    status: int = 200,
) -> Response:
    token = secrets.token_urlsafe(32)
    response = console.page(
        request,
        "console_login.html",
        None,
        status,
        errors=errors or {},
        username=username,
        csrf_token=token,
    )
    console.set_cookie(response, LOGIN_CSRF, token, 3600)
    return response


@router.get("/beheer/aanmelden")
async def login_form(request: Request, console: ConsoleDep) -> Response:
    """The login form (or the start page when this browser is logged in already)."""
    if open_session(console, request) is not None:
        return RedirectResponse("/beheer", 303, headers={"Cache-Control": "no-store"})
    return _login_page(console, request)


async def _verify(console: Console, username: str, password: str, address: str) -> str | None:
    """Throttle, then the password: None when good, else the error the form shows."""
    ctx = console.ctx
    account, place = THROTTLE_NAMESPACE + username, THROTTLE_NAMESPACE + address
    verdict = await ctx.throttle.admit(account, place)  # reserved before the hash
    if verdict.delay > 0:
        await asyncio.sleep(verdict.delay)
    if not verdict.allowed:
        until = lock_end_text(verdict.retry_after)
        return f"Te veel mislukte pogingen. Probeer opnieuw na {until}."
    stored = await ctx.run(stored_hash, ctx.engine, username)
    ok, new_hash = await ctx.hasher.verify(stored, password)  # None: a dummy hash, same time
    if not ok:
        await ctx.throttle.record_failure(account, place)
        return CREDENTIALS
    await ctx.throttle.record_success(account, place)
    if new_hash is not None:  # issue 4 §4: the hash made again with the current parameters
        await ctx.run(upgrade_hash, ctx.engine, username, new_hash)
    return None


@router.post("/beheer/aanmelden")
async def login(request: Request, console: ConsoleDep) -> Response:
    """Check the username and password; on success the session cookie and the start page."""
    field = await form_fields(request)
    cookie = request.cookies.get(LOGIN_CSRF, "")
    sent = field.get("csrf_token", "")
    if not cookie or not hmac.compare_digest(sent.encode(), cookie.encode()):
        error = "Het formulier was verlopen. Vul je gegevens opnieuw in."
        return _login_page(console, request, errors={"form": error}, status=403)
    username = normalise_username(field.get("username", ""))[:64]
    password = field.get("password", "")[:1024]
    errors = {}
    if not username:
        errors["username"] = "Vul je gebruikersnaam in."
    if not password:
        errors["password"] = "Vul je wachtwoord in."  # noqa: S105 (a sentence)
    if errors:
        return _login_page(console, request, errors=errors, username=username, status=400)
    refused = await _verify(console, username, password, client_address(request))
    if refused is not None:
        log.info("console login refused")  # no username: it may be a password typed wrong
        status = 200 if refused == CREDENTIALS else 429
        return _login_page(
            console, request, errors={"username": refused}, username=username, status=status
        )
    account = await console.ctx.run(active_staff, console.ctx.engine, username)
    session = {
        "u": username,
        "p": account.mark if account is not None else "",  # a new password ends the session
        "c": secrets.token_urlsafe(32),  # the session's CSRF token
        "s": secrets.token_hex(16),  # the session's id, ended on every node at logout
        "t": int(time.time()),
    }
    response = RedirectResponse("/beheer", 303, headers={"Cache-Control": "no-store"})
    sealed = console.ctx.sealer.seal(SESSION_PURPOSE, session, LIFETIME)
    console.set_cookie(response, SESSION_COOKIE, sealed, LIFETIME)
    console.clear_cookie(response, LOGIN_CSRF)
    log.info("console login ok")
    return response


def _end(console: Console, session: dict[str, Any]) -> None:
    """Refuse this session's cookie from now on, on every node, until it would expire."""
    started = session.get("t")
    started = started if isinstance(started, int) else int(time.time())
    expires = dt.datetime.fromtimestamp(started + LIFETIME, dt.UTC)
    console.ctx.store.end_session(str(session["s"]), expires, dt.datetime.now(dt.UTC))


@router.post("/beheer/afmelden")
async def logout(request: Request, console: ConsoleDep) -> Response:
    """End this browser's session (with the session's CSRF token) and go to the login form."""
    session = open_session(console, request)
    if session is not None:
        field = await form_fields(request)
        sent = field.get("csrf_token", "")
        if not hmac.compare_digest(sent.encode(), str(session["c"]).encode()):
            text = "Het formulier was verlopen of kwam niet van deze pagina. Probeer opnieuw."
            return console.message(None, "Niet toegestaan", text, 403)
        await console.ctx.run(_end, console, session)
    response = console.redirect_with(None, "/beheer/aanmelden", "Je bent afgemeld.")
    console.clear_cookie(response, SESSION_COOKIE)
    return response
