"""The bearer token of DOV's APIs for service providers (RFC 6750 §2.1, RFC 9068 §4).

The events endpoint takes ``Authorization: Bearer <token>``, the token a client obtained with
the client credentials grant (``idp/oauth/client_credentials``). Refusals (RFC 6750 §3.1): a
missing, malformed, foreign or expired token, or one of a disabled client, gets 401 with
``WWW-Authenticate: Bearer error="invalid_token"``; a token without the API's scope gets 403
``insufficient_scope``. The token itself is never logged nor echoed.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from leerid.idp.context import IdpContext
from leerid.idp.oauth.client_credentials import (
    EVENTS_SCOPE,
    EventsCaller,
    InvalidTokenError,
    read_access_token,
)
from leerid.idp.web.errors import bearer_error

__all__ = ["events_audience", "events_caller"]


def events_audience(ctx: IdpContext) -> str:
    """The ``aud`` of an events access token: the events endpoint's URL (RFC 9068 §3)."""
    return ctx.settings.endpoint("v1/events")


def events_caller(ctx: IdpContext, request: Request) -> EventsCaller | Response:
    """The client calling with a valid events token, or the RFC 6750 §3.1 error response."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return bearer_error(
            "invalid_token",
            "send Authorization: Bearer with an access token from the token endpoint "
            f"(grant_type=client_credentials, scope={EVENTS_SCOPE})",
        )
    try:
        caller = read_access_token(
            ctx.keys.jwks(),
            value.strip(),
            issuer=ctx.settings.issuer,
            audience=events_audience(ctx),
        )
    except InvalidTokenError as exc:
        return bearer_error("invalid_token", str(exc))
    if EVENTS_SCOPE not in caller.scopes:
        return bearer_error("insufficient_scope", f"the token lacks scope {EVENTS_SCOPE}", 403)
    if ctx.clients.get(caller.client_id) is None:
        return bearer_error("invalid_token", "the client of this token is unknown or disabled")
    return caller
