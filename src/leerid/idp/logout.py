"""RP-initiated logout ``/op/v1/logout`` (OpenID Connect RP-Initiated Logout 1.0 §2, §3).

Ends the browser's SSO session on every node and redirects only to a
``post_logout_redirect_uri`` registered for the client (named by ``client_id`` or by the
audience of ``id_token_hint``); anything else gets an error page, never a redirect.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from leerid.idp.authorization import clear_session_cookie
from leerid.idp.context import get_context
from leerid.idp.i18n import TEXTS, choose_language
from leerid.idp.id_token import read_id_token_hint
from leerid.idp.oauth_errors import add_query

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
    if hint:
        claims = read_id_token_hint(ctx.keys, ctx.settings.issuer, hint)
        if claims is None:
            return ctx.pages.error(lang, t["logout_error"].format(detail="id_token_hint"))
        aud = claims.get("aud")
        hinted = (
            aud if isinstance(aud, str) else (aud[0] if isinstance(aud, list) and aud else None)
        )
        if client_id and hinted != client_id:
            return ctx.pages.error(lang, t["logout_error"].format(detail="client_id"))
        client_id = client_id or hinted
    target = params.get("post_logout_redirect_uri")
    if target:
        client = ctx.clients.get(client_id or "")
        if client is None or target not in client.post_logout_redirect_uris:
            return ctx.pages.error(
                lang, t["logout_error"].format(detail="post_logout_redirect_uri")
            )
    session = await ctx.run(ctx.read_session, request)
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
