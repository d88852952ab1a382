"""OAuth 2.0 and OpenID Connect errors, exactly as the specifications name them.

RFC 6749 §4.1.2.1 (authorization errors, by redirect), §5.2 (token endpoint errors, JSON with
``no-store``), OIDC Core §3.1.2.6 (``login_required``…), RFC 6750 §3.1 (bearer token errors)
and RFC 9207 (``iss`` in every authorization response).
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

__all__ = [
    "NO_STORE",
    "AuthorizationError",
    "OAuthError",
    "add_query",
]

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
"""RFC 6749 §5.1: responses with tokens or credentials are not cached."""


class OAuthError(Exception):
    """An error of the token, introspection or revocation endpoint (RFC 6749 §5.2)."""

    def __init__(self, error: str, description: str, status_code: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status_code = status_code


class AuthorizationError(Exception):
    """An authorization error returned to the client's redirect URI (RFC 6749 §4.1.2.1)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description


def add_query(uri: str, params: dict[str, str]) -> str:
    """``uri`` with ``params`` added to its query, keeping the query it already has."""
    parts = urlsplit(uri)
    extra = urlencode(params)
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
