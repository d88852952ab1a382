"""The token endpoint's rules (RFC 6749 §4.1.3 and §6, RFC 7636 §4.6): pure checks.

A code is checked in this order: known; issued to this client (RFC 6749 §4.1.3); not used
before (§4.1.2, §10.5: a second use revokes what the first one issued); not expired (30 s);
the same ``redirect_uri`` as the authorization request (§4.1.3); the PKCE verifier matches
the challenge (RFC 7636 §4.6); a code issued without a challenge (``acm`` confidential
clients only) refuses any ``code_verifier`` (RFC 9700 §4.8.2, PKCE downgrade).
A refresh token: known and of this client; not used before
(OAuth 2.0 Security BCP §4.14.2: reuse revokes the family); not revoked; not expired; a
``scope`` may only narrow the granted one (RFC 6749 §6).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from leerid.idp.oauth.errors import OAuthError
from leerid.idp.oauth.rfc7636 import verify_s256

__all__ = [
    "CODE_REUSED",
    "REFRESH_REUSED",
    "CodeFacts",
    "RefreshFacts",
    "code_problem",
    "narrowed_scope",
    "refresh_problem",
]

CODE_REUSED = "the code was used before; its tokens are revoked"
REFRESH_REUSED = "the refresh token was used before; its family is revoked"


@dataclass(frozen=True)
class CodeFacts:
    """What the store knows of a code: its client, redirect URI, challenge, expiry, use."""

    client_id: str
    redirect_uri: str | None
    code_challenge: str | None
    expires_at: dt.datetime
    used: bool


class RefreshFacts(Protocol):
    """What the store knows of a refresh token (``RefreshGrant`` has these)."""

    @property
    def client_id(self) -> str: ...
    @property
    def used(self) -> bool: ...
    @property
    def revoked(self) -> bool: ...
    @property
    def expires_at(self) -> dt.datetime: ...


def code_problem(
    code: CodeFacts | None,
    *,
    client_id: str,
    redirect_uri: str | None,
    code_verifier: str | None,
    now: dt.datetime,
    pkce_optional: bool = False,
) -> OAuthError | None:
    """The ``invalid_grant`` a code earns, in the order of the docstring, or None.

    When the description is ``CODE_REUSED`` the caller revokes the code's tokens first.
    ``pkce_optional``: the client may hold codes issued without a challenge (issue 14 §1).
    """
    if code is None:
        return OAuthError("invalid_grant", "the code is unknown")
    if code.client_id != client_id:
        return OAuthError("invalid_grant", "the code was issued to another client")
    if code.used:
        return OAuthError("invalid_grant", CODE_REUSED)
    if code.expires_at <= now:
        return OAuthError("invalid_grant", "the code has expired (codes live 30 seconds)")
    if redirect_uri != code.redirect_uri:
        return OAuthError("invalid_grant", "redirect_uri differs from the authorization request")
    return _pkce_problem(code.code_challenge, code_verifier, pkce_optional)


def _pkce_problem(
    challenge: str | None, verifier: str | None, pkce_optional: bool
) -> OAuthError | None:
    """RFC 7636 §4.6 and RFC 9700 §4.8.2."""
    if challenge is None and pkce_optional:
        if verifier is not None:  # RFC 9700 §4.8.2: a verifier without a challenge: downgrade
            return OAuthError(
                "invalid_grant",
                "code_verifier sent, but the code was issued without a code_challenge",
            )
        return None
    if challenge is None or not verify_s256(verifier, challenge):
        return OAuthError("invalid_grant", "code_verifier does not match the code_challenge")
    return None


def refresh_problem(
    token: RefreshFacts | None, *, client_id: str, now: dt.datetime
) -> OAuthError | None:
    """The ``invalid_grant`` a refresh token earns, or None.

    When the description is ``REFRESH_REUSED`` the caller revokes the family first.
    """
    if token is None or token.client_id != client_id:
        return OAuthError("invalid_grant", "the refresh token is unknown")
    if token.used:
        return OAuthError("invalid_grant", REFRESH_REUSED)
    if token.revoked:
        return OAuthError("invalid_grant", "the refresh token was revoked")
    if token.expires_at <= now:
        return OAuthError("invalid_grant", "the refresh token has expired")
    return None


def narrowed_scope(granted: str, asked: str | None) -> str:
    """RFC 6749 §6: the scope of a refreshed token; ``asked`` may only narrow ``granted``."""
    if not asked:
        return granted
    scopes = asked.split()
    if not set(scopes) <= set(granted.split()):
        raise OAuthError("invalid_scope", "a refresh may only narrow the granted scope")
    return " ".join(scopes)
