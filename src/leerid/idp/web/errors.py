"""OAuth 2.0 and OpenID Connect error responses over HTTP, as the specifications write them.

RFC 6749 §4.1.2.1 (authorization errors, by redirect), §5.2 (token endpoint errors, JSON with
``no-store``), RFC 6750 §3.1 (bearer token errors) and RFC 9207 (``iss`` in every
authorization response). The errors themselves are in ``leerid.idp.oauth.errors``.
"""

from __future__ import annotations

from starlette.responses import JSONResponse, RedirectResponse, Response

from leerid.idp.oauth.errors import NO_STORE, OAuthError, add_query
from leerid.store.outage import RETRY_AFTER

__all__ = [
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


def authorization_error_redirect(
    redirect_uri: str, error: str, description: str, state: str | None, issuer: str
) -> Response:
    """RFC 6749 §4.1.2.1 and RFC 9207: error, description, state and iss to the client."""
    params = {"error": error, "error_description": description}
    if state is not None:
        params["state"] = state
    params["iss"] = issuer
    return RedirectResponse(add_query(redirect_uri, params), status_code=303, headers=NO_STORE)


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
