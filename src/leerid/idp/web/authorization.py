"""The authorization endpoint ``/op/v1/auth`` (RFC 6749 §4.1.1, OIDC Core §3.1.2).

Written by hand: Authlib has no Starlette server integration, and the ACM/IDM behaviour
(an immediate ``invalid_scope`` before any login; an error page when the client's protocol
is not in force) sits between its steps. Order of checks:

1. client and ``redirect_uri`` (exact match) — failures give an error page, never a redirect
   (RFC 6749 §4.1.2.1, §10.15: no open redirect);
2. the client's protocol must be in force (art. 11) — else an error page that says why;
3. everything else is answered with ``error``, ``state`` and ``iss`` (RFC 9207), in the
   ``response_mode`` asked when the client's profile allows it (else ``query``):
   ``response_type`` must be ``code``; the mode allowed; ``openid`` and only scopes the
   protocol allows; PKCE as the profile says; ``prompt``, ``max_age``, ``id_token_hint`` as
   OIDC Core §3.1.2.1 says (the pure rules of step 3, in their order:
   ``leerid.idp.oauth.authorization_request``). The code itself travels the same way
   (``leerid.idp.oauth.response_modes``: query, fragment, or a form_post page).
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from contextlib import nullcontext

from fastapi import APIRouter, Request
from starlette.responses import Response

from leerid.idp import metrics
from leerid.idp.context import CSRF_COOKIE, SESSION_COOKIE, IdpContext, SsoSession, get_context
from leerid.idp.oauth.authorization_request import (
    DUPLICATED,
    AuthorizationRequest,
    CheckedParameters,
    check_parameters,
    needs_login,
)
from leerid.idp.oauth.errors import AuthorizationError
from leerid.idp.oauth.id_token import read_id_token_hint
from leerid.idp.oauth.response_modes import error_mode
from leerid.idp.release import BoundProtocol
from leerid.idp.store.clients import Client
from leerid.idp.store.interface import StoreConnection
from leerid.idp.web.authorization_codes import seal_code
from leerid.idp.web.errors import authorization_answer, authorization_error_redirect
from leerid.idp.web.i18n import TEXTS, choose_language
from leerid.idp.web.parameters import AUTHORIZATION, page_text

__all__ = ["ended_refusal", "finish_authorization", "protocol_refusal", "render_login", "router"]

router = APIRouter()

_CHECKED_FIRST = ("client_id", "redirect_uri", "state")


def _status_text(lang: str, state: str) -> str:
    return TEXTS[lang].get(f"status_{state.removeprefix('protocol_')}", state)


def finish_authorization(
    ctx: IdpContext,
    pending: AuthorizationRequest,
    session: SsoSession,
    db: StoreConnection | None = None,
    *,
    single_sign_on: bool = False,
    unless_protocol_ended: str | None = None,
) -> Response | None:
    """RFC 6749 §4.1.2: a new code (30 s, single use, sealed: nothing is stored) back to the
    client with state and iss, in the request's ``response_mode``.

    With ``single_sign_on`` the code is issued only if the session was not ended by a
    logout, with ``unless_protocol_ended`` only if that protocol has no end in effect
    (art. 8, 11); one read checks both; None when no code is issued.
    """
    now = dt.datetime.now(dt.UTC)
    if single_sign_on or unless_protocol_ended is not None:
        with nullcontext(db) if db is not None else ctx.store.connect() as used:
            may = used.may_issue_code(
                now=now,
                unless_session_ended=session.sid if single_sign_on else None,
                unless_protocol_ended=unless_protocol_ended,
            )
        if not may:
            return None
    code = seal_code(
        ctx.sealer,
        client_id=pending.client_id,
        account_uuid=session.account_uuid,
        scope=pending.scope,
        nonce=pending.nonce,
        redirect_uri=pending.redirect_uri,
        code_challenge=pending.code_challenge,
        sid=session.sid,
        auth_time=dt.datetime.fromtimestamp(session.auth_time, dt.UTC),
        now=now,
        lifetime=ctx.settings.code_lifetime,
    )
    params = {"code": code}
    if pending.state is not None:
        params["state"] = pending.state
    params["iss"] = ctx.settings.issuer  # RFC 9207 §2
    return authorization_answer(pending.redirect_uri, params, pending.response_mode, pending.lang)


def render_login(
    ctx: IdpContext,
    request: Request,
    pending: AuthorizationRequest,
    client_name: str,
    *,
    errors: dict[str, str] | None = None,
    username: str = "",
    status_code: int = 200,
) -> Response:
    """The login page for ``pending``, bound to this browser by the CSRF cookie."""
    lang = pending.lang
    csrf = pending.csrf
    sealed = ctx.sealer.seal("pending", pending.sealable(), ctx.settings.login_form_lifetime)
    response = ctx.pages.render(
        "login.html",
        lang,
        status_code,
        intro=TEXTS[lang]["login_intro"].format(client=client_name),
        action=f"{ctx.settings.path}/v1/login",
        pending=sealed,
        csrf_token=csrf,
        errors=errors or {},
        username=username,
    )
    if request.cookies.get(CSRF_COOKIE) != csrf:
        ctx.set_cookie(response, CSRF_COOKIE, csrf)
    return response


async def _params(request: Request) -> dict[str, str]:
    """GET query or POST form (OIDC Core §3.1.2.1); RFC 6749 §3.1: no parameter twice."""
    if request.method == "POST":
        form = await request.form()
        items = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    else:
        items = list(request.query_params.multi_items())
    params: dict[str, str] = {}
    duplicated = set()
    for name, value in items:
        if name in params:
            duplicated.add(name)
        params[name] = value
    if duplicated:
        params[DUPLICATED] = ",".join(sorted(duplicated))
    return params


async def authorize(request: Request) -> Response:
    """RFC 6749 §4.1.1 and OIDC Core §3.1.2: start an authorization (code flow only)."""
    started = time.perf_counter()
    ctx = get_context(request)
    params = await _params(request)
    # The edge rules (leerid.idp.web.parameters), client and redirect_uri first: only when both
    # are valid may an error go back to the client (RFC 6749 §4.1.2.1), state before the rest.
    problem = AUTHORIZATION.first_problem(params.items(), _CHECKED_FIRST)
    lang = choose_language(params.get("ui_locales"))
    t = TEXTS[lang]
    if problem is not None and problem.name in _CHECKED_FIRST[:2]:
        metrics.AUTH_ERRORS.labels("invalid_request").inc()
        return ctx.pages.error(lang, page_text(lang, problem))
    client = ctx.clients.get(params.get("client_id", ""))
    if client is None:
        metrics.AUTH_ERRORS.labels("unknown_client").inc()
        return ctx.pages.error(lang, t["error_unknown_client"])
    redirect_uri = params.get("redirect_uri", "")
    if "redirect_uri" in params.get(DUPLICATED, "").split(",") or (
        redirect_uri not in client.redirect_uris
    ):
        metrics.AUTH_ERRORS.labels("redirect_uri").inc()
        return ctx.pages.error(lang, t["error_redirect_uri"])
    state = params.get("state") if problem is None or problem.name != "state" else None
    duplicated = "response_mode" in params.get(DUPLICATED, "").split(",")
    bad_mode = problem is not None and problem.name == "response_mode"
    mode = error_mode(params, client.rules, duplicated or bad_mode)
    # Client and redirect_uri are known: from here on a database outage is reported to the
    # client as temporarily_unavailable (RFC 6749 §4.1.2.1), see app._outage_response.
    request.scope["leerid.redirect"] = (redirect_uri, state, mode)
    try:
        if problem is not None:
            raise AuthorizationError("invalid_request", problem.describe())
        response = await ctx.run(_authorize, ctx, request, client, params, lang)
    except AuthorizationError as exc:
        metrics.AUTH_ERRORS.labels(exc.error).inc()
        response = authorization_error_redirect(
            redirect_uri, exc.error, exc.description, state, ctx.settings.issuer, mode
        )
    metrics.AUTH_LATENCY.observe(time.perf_counter() - started)
    return response


# A plain Starlette route: the hot path skips FastAPI's dependency solving per request.
router.add_route("/v1/auth", authorize, methods=["GET", "POST"])


def _authorize(
    ctx: IdpContext, request: Request, client: Client, params: dict[str, str], lang: str
) -> Response:
    """The checks and the answer, on one database connection."""
    with ctx.store.connect() as db:
        return _authorize_on(ctx, request, client, params, lang, db)


def _authorize_on(
    ctx: IdpContext,
    request: Request,
    client: Client,
    params: dict[str, str],
    lang: str,
    db: StoreConnection,
) -> Response:
    """Art. 11, then the pure checks (``check_parameters``), then SSO or the login page.

    Art. 8, 11: the end of the protocol is not read up front while this process has not
    seen one: the SSO code's guard (``may_issue_code``) refuses when an end is in effect,
    and the login page (or an error of the request) reads it first, as
    ``ProtocolCache.get`` does.
    """
    protocol = ctx.protocols.current(client.protocol_id, ending_exists=False)
    refusal = protocol_refusal(ctx, client, protocol, lang)
    if refusal is not None:
        return refusal
    assert protocol is not None
    try:
        checked = check_parameters(
            params,
            protocol.allowed_scopes(),
            lambda hint: _hint_sub(ctx, hint),
            client.rules,
            confidential=client.auth_method != "none",
        )
    except AuthorizationError:
        refusal = ended_refusal(ctx, client, lang)  # the end counts before the request's errors
        if refusal is not None:
            return refusal
        raise
    session = ctx.session_from_cookie(request)  # logouts: checked by the code's guard below
    # OIDC Core §3.1.2.1: the hint's sub is compared in the client's terms (issue 14 point 2)
    known = None if session is None else (ctx.sub(client, session.account_uuid), session.auth_time)
    need_login = needs_login(checked, known, time.time())
    pending = _pending(request, client, params, checked, lang)
    if not need_login:
        assert session is not None
        answer = finish_authorization(
            ctx, pending, session, db, single_sign_on=True, unless_protocol_ended=client.protocol_id
        )
        if answer is not None:
            metrics.SSO_LOGINS.inc()
            return answer
        need_login = True  # the protocol ended (refused below) or a logout ended the session
    refusal = ended_refusal(ctx, client, lang)
    if refusal is not None:
        return refusal
    if "none" in checked.prompts and need_login:  # OIDC Core §3.1.2.6
        raise AuthorizationError("login_required", "the user is not logged in")
    return render_login(ctx, request, pending, client.name)


def ended_refusal(ctx: IdpContext, client: Client, lang: str) -> Response | None:
    """Art. 8, 11: ``protocol_refusal`` with the end of the protocol read now (unless known)."""
    return protocol_refusal(ctx, client, ctx.protocols.get(client.protocol_id), lang)


def protocol_refusal(
    ctx: IdpContext, client: Client, protocol: BoundProtocol | None, lang: str
) -> Response | None:
    """Art. 11: no disclosure outside the protocol's time in force; the page says why."""
    state_text = "not_stored" if protocol is None else protocol.status_at(dt.datetime.now(dt.UTC))
    if state_text == "in_force":
        return None
    metrics.LOGIN_FAILURES.labels("protocol_not_in_force").inc()
    text = TEXTS[lang]["error_protocol"]
    return ctx.pages.error(
        lang, text.format(client=client.name, status=_status_text(lang, state_text)), 403
    )


def _hint_sub(ctx: IdpContext, hint: str) -> str | None:
    """The ``sub`` of an ``id_token_hint`` signed by us, or None."""
    claims = read_id_token_hint(ctx.keys, ctx.settings.issuer, hint)
    return None if claims is None else str(claims["sub"])


def _pending(
    request: Request,
    client: Client,
    params: dict[str, str],
    checked: CheckedParameters,
    lang: str,
) -> AuthorizationRequest:
    """The checked request that waits for a login (or is answered at once by SSO)."""
    return AuthorizationRequest(
        client_id=client.client_id,
        redirect_uri=params["redirect_uri"],
        scope=checked.scope,
        state=params.get("state"),
        nonce=params.get("nonce"),
        code_challenge=checked.code_challenge,
        lang=lang,
        csrf=request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24),
        response_mode=checked.response_mode,
    )


def clear_session_cookie(ctx: IdpContext, response: Response) -> None:
    """Remove the SSO cookie from the browser."""
    response.delete_cookie(
        SESSION_COOKIE,
        path=ctx.settings.path or "/",
        secure=ctx.settings.secure_cookies,
        httponly=True,
        samesite="lax",
    )
