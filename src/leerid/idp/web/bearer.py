"""The bearer token of DOV's APIs for service providers (RFC 6750 §2.1, RFC 9068 §4).

The events, quality-report and notices endpoints take ``Authorization: Bearer <token>``, the
token a client obtained with the client credentials grant (``idp/oauth/client_credentials``),
each for its own scope (issue 14 §4). One checker, the API's scope as parameter. Refusals
(RFC 6750 §3.1): a missing, malformed, foreign or expired token, one not for this API
(``aud``), or one of a disabled client, gets 401 with
``WWW-Authenticate: Bearer error="invalid_token"``; a token without the API's scope, or of a
client no longer allowed that API, gets 403 ``insufficient_scope``. Client authentication
(RFC 6749 §2.3) at the quality-report and notices APIs needs no API scope: reporting (art. 7)
and notifying (art. 6, 9) are the recipient's duties, not grants. The token itself is never
logged nor echoed.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from leerid.idp.context import IdpContext, get_context
from leerid.idp.oauth.client_credentials import (
    EVENTS_SCOPE,
    ApiCaller,
    InvalidTokenError,
    api_audience,
    read_access_token,
)
from leerid.idp.oauth.errors import OAuthError
from leerid.idp.web.client_auth import authenticate_client, read_form
from leerid.idp.web.errors import bearer_error

__all__ = ["api_caller", "api_client", "events_audience", "events_caller", "sends_bearer"]


def events_audience(ctx: IdpContext) -> str:
    """The ``aud`` of an events access token: the events endpoint's URL (RFC 9068 §3)."""
    return api_audience(ctx.settings.issuer, EVENTS_SCOPE)


def sends_bearer(request: Request) -> bool:
    """Whether the request authenticates with ``Authorization: Bearer`` (RFC 6750 §2.1)."""
    return request.headers.get("authorization", "").lower().startswith("bearer ")


def api_caller(ctx: IdpContext, request: Request, scope: str) -> ApiCaller | Response:
    """The client calling the API of ``scope`` with a valid token, or the RFC 6750 §3.1
    error response."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return bearer_error(
            "invalid_token",
            "send Authorization: Bearer with an access token from the token endpoint "
            f"(grant_type=client_credentials, scope={scope})",
        )
    try:
        caller = read_access_token(
            ctx.keys.jwks(),
            value.strip(),
            issuer=ctx.settings.issuer,
            audience=api_audience(ctx.settings.issuer, scope),
        )
    except InvalidTokenError as exc:
        return bearer_error("invalid_token", str(exc))
    if scope not in caller.scopes:
        return bearer_error(
            "insufficient_scope",
            f"the token lacks scope {scope}; ask one with scope={scope} at the token endpoint",
            403,
        )
    client = ctx.clients.get(caller.client_id)
    if client is None:
        return bearer_error("invalid_token", "the client of this token is unknown or disabled")
    if scope not in client.api_scopes:  # issue 14 §4: withdrawn since the token was issued
        return bearer_error(
            "insufficient_scope", f"this client may no longer call the {scope} API; ask DOV", 403
        )
    return caller


def events_caller(ctx: IdpContext, request: Request) -> ApiCaller | Response:
    """The client calling with a valid events token, or the RFC 6750 §3.1 error response."""
    return api_caller(ctx, request, EVENTS_SCOPE)


async def api_client(request: Request, scope: str | None) -> tuple[str, dict[str, str]] | Response:
    """The client calling a form-posting API and its form, or the error response.

    With a Bearer token (issue 14 §4): the token must carry ``scope`` (``api_caller``).
    Otherwise the client authenticates as at the token endpoint (RFC 6749 §2.3, as the kit
    does) and needs no API scope: art. 7 quality reports and art. 6, 9 notices are duties of
    every recipient, so its credentials suffice.
    """
    ctx = get_context(request)
    try:
        form = await read_form(request)
        if scope is not None and sends_bearer(request):
            caller = api_caller(ctx, request, scope)
            if isinstance(caller, Response):
                return caller
            return caller.client_id, form
        client = authenticate_client(ctx, request, form)
    except OAuthError as exc:
        status = 401 if exc.error == "invalid_client" else exc.status_code
        return JSONResponse({"error": exc.error, "error_description": exc.description}, status)
    # art. 7 (reports) and art. 6, 9 (notices) are the recipient's duties, not grants: an
    # authenticated client is never refused them for lacking the API scope
    return client.client_id, form
