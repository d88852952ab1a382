"""RP-initiated logout ``/op/v1/logout`` (OpenID Connect RP-Initiated Logout 1.0 §2, §3).

Ends the browser's SSO session on every node and redirects only to a
``post_logout_redirect_uri`` registered for the client (named by ``client_id`` or by the
audience of ``id_token_hint``); anything else gets an error page, never a redirect.
Without an ID token of the logged-in pupil the provider asks first (§2: the OP MUST ask the
End-User when no ``id_token_hint`` was given or it does not belong to the current session),
with a CSRF-protected form, so that another site cannot log a pupil out by a link or image.

Issue 14 §1, as ACM/IDM: for a client of the ``acm`` profile, ``client_id`` plus a
``post_logout_redirect_uri`` registered for that client ends the session at once and
redirects (with ``state``), without asking, unless an ``id_token_hint`` names another pupil
than the session's (§2: then the OP asks). Exactly that: an unregistered address is still an
error page, and without a registered address the question stays (docs/acm-compatibility.md
gives the Security BCP's reason, logout CSRF, why ``strict`` asks).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any, Literal

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from leerid.idp.context import CSRF_COOKIE, IdpContext, get_context
from leerid.idp.oauth.errors import add_query
from leerid.idp.oauth.id_token import UnknownKeyError, read_id_token_hint
from leerid.idp.web.authorization import clear_session_cookie
from leerid.idp.web.i18n import TEXTS, choose_language

__all__ = ["router"]

router = APIRouter()


@router.api_route("/v1/logout", methods=["GET", "POST"])
async def logout(request: Request) -> Response:
    """End the SSO session; back to the client's registered address when it asks."""
    ctx = get_context(request)
    if request.method == "POST":
        form = await request.form()
        params = {k: v for k, v in form.items() if isinstance(v, str)}
    else:
        params = dict(request.query_params)
    lang = choose_language(params.get("ui_locales"))
    t = TEXTS[lang]
    client_id = params.get("client_id")
    hint = params.get("id_token_hint")
    hint_sub: str | None = None
    claims = _read_hint(ctx, hint) if hint else None
    if hint and claims is not False:
        if claims is None:
            return ctx.pages.error(lang, t["logout_error"].format(detail="id_token_hint"))
        aud = claims.get("aud")
        hinted = (
            aud if isinstance(aud, str) else (aud[0] if isinstance(aud, list) and aud else None)
        )
        if client_id and hinted != client_id:
            return ctx.pages.error(lang, t["logout_error"].format(detail="client_id"))
        client_id = client_id or hinted
        hint_sub = claims["sub"]
    target = params.get("post_logout_redirect_uri")
    at_once = False
    if target:
        client = ctx.clients.get(client_id or "")
        if client is None or target not in client.post_logout_redirect_uris:
            return ctx.pages.error(
                lang, t["logout_error"].format(detail="post_logout_redirect_uri")
            )
        at_once = client.rules.logout_without_hint  # issue 14 §1: acm + registered URI
    session = await ctx.run(ctx.read_session, request)
    hinted_here = session is not None and _names(ctx, client_id, hint_sub, session.account_uuid)
    at_once = at_once and (hint_sub is None or hinted_here)  # §2: another pupil's hint: ask
    if session is not None and not at_once and not hinted_here and not _confirmed(request, params):
        return _ask(ctx, request, lang, params, client_id)  # §2: the OP MUST ask
    if session is not None:
        await ctx.run(ctx.end_session, session)
    response: Response
    if target:
        query = {"state": params["state"]} if params.get("state") is not None else {}
        response = RedirectResponse(add_query(target, query), status_code=303)
    else:
        response = ctx.pages.render("logged_out.html", lang)
    clear_session_cookie(ctx, response)
    return response


def _read_hint(ctx: IdpContext, hint: str) -> dict[str, Any] | Literal[False] | None:
    """The hint's claims; None when it is not ours; False when its key is gone (review of
    issue 14: a pupil logged in before a rotation; treated as no hint, never an error)."""
    try:
        return read_id_token_hint(ctx.keys, ctx.settings.issuer, hint)
    except UnknownKeyError:
        return False


def _names(ctx: IdpContext, client_id: str | None, hint_sub: str | None, account: str) -> bool:
    """§2: the hint is an ID token of the logged-in pupil: its ``sub`` is ``account``'s in
    the terms of the client it was issued to (issue 14 point 2: perhaps the opaque one)."""
    if hint_sub is None:
        return False
    client = ctx.clients.get(client_id or "")
    return client is not None and ctx.subjects.names(client.subject, account, hint_sub)


def _confirmed(request: Request, params: dict[str, str]) -> bool:
    """The pupil answered the question on our own page (POST with this browser's token)."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = params.get("csrf_token", "")
    return (
        request.method == "POST"
        and params.get("confirm") == "1"
        and bool(cookie)
        and hmac.compare_digest(sent.encode(), cookie.encode())
    )


def _ask(
    ctx: IdpContext, request: Request, lang: str, params: dict[str, str], client_id: str | None
) -> Response:
    """The question, carrying the request on (the client resolved; no ID token re-sent)."""
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    carried = {"client_id": client_id or ""} | {
        name: params[name]
        for name in ("post_logout_redirect_uri", "state", "ui_locales")
        if params.get(name) is not None
    }
    response = ctx.pages.render(
        "logout_confirm.html",
        lang,
        action=f"{ctx.settings.path}/v1/logout",
        fields={name: value for name, value in carried.items() if value},
        csrf_token=csrf,
    )
    if request.cookies.get(CSRF_COOKIE) != csrf:
        ctx.set_cookie(response, CSRF_COOKIE, csrf)
    return response
