"""The way back to the login page after activation (no dead end on the "done" page).

The login page links to the activation form with its own sealed authorization request;
the activation form keeps the login address (a path on this provider, rebuilt from the
request that was validated at ``/v1/auth``) in its sealed state, and the "done" page links
to it, so the pupil goes on to the application that sent them.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request

from leerid.idp.context import IdpContext
from leerid.idp.oauth.authorization_request import AuthorizationRequest


def login_url(ctx: IdpContext, sealed_pending: str | None) -> str:
    """The ``/v1/auth`` address that shows the login page of ``sealed_pending`` again, or ""
    when it is absent, forged or expired (then the page says where to log in)."""
    opened = ctx.sealer.open("pending", sealed_pending) if sealed_pending else None
    pending = AuthorizationRequest.from_sealed(opened)
    if pending is None:
        return ""
    return f"{ctx.settings.path}/v1/auth?{urlencode(pending.login_query())}"


def carried_login_url(ctx: IdpContext, request: Request) -> str:
    """The login address this activation form carries: from the sealed form state on a
    POST (set by the handler), else from the login page's link (``?login=…``)."""
    carried = getattr(request.state, "login_url", None)
    if isinstance(carried, str):
        return carried
    return login_url(ctx, request.query_params.get("login"))
