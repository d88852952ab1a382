"""OAuth 2.0 and OpenID Connect error responses over HTTP, as the specifications write them.

RFC 6749 §4.1.2.1 (authorization errors, by redirect), §5.2 (token endpoint errors, JSON with
``no-store``), RFC 6750 §3.1 (bearer token errors) and RFC 9207 (``iss`` in every
authorization response). The errors themselves are in ``leerid.idp.oauth.errors``.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from leerid.idp.oauth.errors import NO_STORE, OAuthError
from leerid.idp.oauth.response_modes import FORM_POST_CSP, form_post_page, redirect_location
from leerid.store.outage import RETRY_AFTER

__all__ = [
    "authorization_answer",
    "authorization_error_redirect",
    "bearer_challenge",
    "bearer_error",
    "log_unavailable",
    "token_error_response",
]


def token_error_response(exc: OAuthError, *, basic_auth_attempted: bool = False) -> Response:
    """RFC 6749 §5.2: a JSON error body; 401 with a challenge for failed Basic authentication."""
    headers = dict(NO_STORE)
    status = exc.status_code
    if exc.error == "invalid_client":
        status = 401
        if basic_auth_attempted:
            headers["WWW-Authenticate"] = 'Basic realm="leerid"'
    return JSONResponse(
        {"error": exc.error, "error_description": exc.description}, status, headers=headers
    )


def authorization_answer(
    redirect_uri: str, params: Mapping[str, str], mode: str = "query", lang: str = "nl"
) -> Response:
    """An answer to the client's checked ``redirect_uri`` in ``response_mode`` ``mode``:
    a 303 redirect (``query``, ``fragment``) or, for ``form_post`` (Form Post §2, §5), a page
    that POSTs the parameters, with its own CSP (its script by hash) and ``Referrer-Policy:
    origin`` (the POST carries our origin, not ``null``), never cached."""
    if mode == "form_post":
        page = form_post_page(redirect_uri, params, lang)
        # Referrer-Policy origin: under no-referrer the browser's POST carries Origin: null,
        # which clients that check Origin against CSRF refuse; origin names only our origin
        headers = {
            **NO_STORE,
            "Content-Security-Policy": FORM_POST_CSP,
            "Referrer-Policy": "origin",
        }
        return HTMLResponse(page, 200, headers=headers)
    location = redirect_location(redirect_uri, params, mode)
    return RedirectResponse(location, status_code=303, headers=NO_STORE)


def authorization_error_redirect(
    redirect_uri: str,
    error: str,
    description: str,
    state: str | None,
    issuer: str,
    mode: str = "query",
) -> Response:
    """RFC 6749 §4.1.2.1 and RFC 9207: error, description, state and iss to the client,
    in the request's ``response_mode``."""
    params = {"error": error, "error_description": description}
    if state is not None:
        params["state"] = state
    params["iss"] = issuer
    return authorization_answer(redirect_uri, params, mode)


def bearer_challenge(description: str) -> Response:
    """RFC 6750 §3.1: a request without credentials gets the challenge without an error code."""
    return JSONResponse(
        {"error_description": description},
        401,
        headers={**NO_STORE, "WWW-Authenticate": 'Bearer realm="leerid"'},
    )


def bearer_error(error: str, description: str, status_code: int = 401) -> Response:
    """RFC 6750 §3.1: a ``WWW-Authenticate: Bearer`` challenge with the error."""
    challenge = f'Bearer realm="leerid", error="{error}", error_description="{description}"'
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code,
        headers={**NO_STORE, "WWW-Authenticate": challenge},
    )


def log_unavailable() -> Response:
    """Issue 12 §1, fail closed: the transparency log refused the entry, nothing was
    released; 503 ``temporarily_unavailable`` (the code of RFC 6749 §4.1.2.1) with
    ``Retry-After`` (RFC 9110 §10.2.3), as during a database outage."""
    return JSONResponse(
        {
            "error": "temporarily_unavailable",
            "error_description": "the provider cannot record this disclosure in its "
            "transparency log right now, so it releases nothing; try again in a minute",
        },
        503,
        headers={**NO_STORE, "Retry-After": str(RETRY_AFTER)},
    )
