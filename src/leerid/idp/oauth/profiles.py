"""Issue 14: a client's profile, ``strict`` (leerid's own rules) or ``acm`` (as ACM/IDM).

A service provider develops against leerid and moves to the Department's ACM/IDM by changing
the issuer, and back. ACM/IDM is laxer than leerid in four places; a client registered with
``--profile acm`` gets exactly those relaxations, each one named here, listed by
``leerid clients show`` and explained (with the OAuth 2.0 Security BCP's reasons against it)
in docs/acm-compatibility.md:

- response modes ``fragment`` and ``form_post`` besides ``query`` (OAuth 2.0 Multiple
  Response Type Encoding Practices §2.1, OAuth 2.0 Form Post Response Mode §2);
- PKCE optional for confidential clients, and method ``plain`` accepted (RFC 7636 §4.2);
  public clients still need it (RFC 9700 §2.1.1);
- client assertions (RFC 7523) that live up to 10 minutes instead of 5;
- logout at once for ``client_id`` plus a registered ``post_logout_redirect_uri``, without
  ``id_token_hint`` (OIDC RP-Initiated Logout §2 leaves the confirmation to the provider).

Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ACM",
    "API_SCOPES",
    "EVENTS_SCOPE",
    "NOTICES_SCOPE",
    "PROFILES",
    "QUALITY_REPORTS_SCOPE",
    "STRICT",
    "SUBJECT_TYPES",
    "ClientProfile",
    "profile_named",
]


@dataclass(frozen=True)
class ClientProfile:
    """What a client of this profile may do where ACM/IDM and leerid differ."""

    name: str
    response_modes: tuple[str, ...]
    """OAuth 2.0 Multiple Response Types §2.1 / Form Post §2: how the code is returned."""
    pkce_required_for_confidential: bool
    """RFC 7636: whether a confidential client must send a code_challenge."""
    pkce_methods: tuple[str, ...]
    """RFC 7636 §4.3: the accepted ``code_challenge_method`` values."""
    assertion_max_lifetime: int
    """RFC 7523 §3: the longest ``exp - iat`` (or ``exp - now``) of a client assertion, s."""
    logout_without_hint: bool
    """OIDC RP-Initiated Logout §2: log out at once on client_id + a registered URI."""

    def relaxations(self) -> list[str]:
        """The ways this profile departs from ``strict``, in words (``clients show``)."""
        found = []
        if self.response_modes != STRICT.response_modes:
            found.append(f"response_mode {', '.join(self.response_modes)} (not only query)")
        if not self.pkce_required_for_confidential:
            found.append("PKCE optional for confidential clients")
        if self.pkce_methods != STRICT.pkce_methods:
            found.append(f"code_challenge_method {' or '.join(self.pkce_methods)}")
        if self.assertion_max_lifetime != STRICT.assertion_max_lifetime:
            minutes = self.assertion_max_lifetime // 60
            found.append(f"client assertions live up to {minutes} minutes (not 5)")
        if self.logout_without_hint:
            found.append("logout at once with client_id and a registered URI (no id_token_hint)")
        return found


STRICT = ClientProfile(
    name="strict",
    response_modes=("query",),
    pkce_required_for_confidential=True,
    pkce_methods=("S256",),
    assertion_max_lifetime=300,
    logout_without_hint=False,
)
ACM = ClientProfile(
    name="acm",
    response_modes=("query", "fragment", "form_post"),
    pkce_required_for_confidential=False,
    pkce_methods=("S256", "plain"),
    assertion_max_lifetime=600,
    logout_without_hint=True,
)
PROFILES = {p.name: p for p in (STRICT, ACM)}

SUBJECT_TYPES = ("account_uuid", "opaque")
"""What ``sub`` holds: the account_uuid, or (as ACM's PersoonsID) a stable 40-hex value per
account that is never the account_uuid; ``ov_account_uuid`` is the account either way."""

EVENTS_SCOPE = "leerid:events"
"""RFC 8936 poll of the Security Event Tokens (issue 10)."""
QUALITY_REPORTS_SCOPE = "leerid:quality-reports"
"""Art. 7: data-quality reports, their status and answers."""
NOTICES_SCOPE = "leerid:notices"
"""Art. 6, 9: notices of onward disclosure and of processors."""
API_SCOPES = (EVENTS_SCOPE, QUALITY_REPORTS_SCOPE, NOTICES_SCOPE)
"""Issue 14 §4: the client_credentials scopes, one per DOV API."""


def profile_named(name: str) -> ClientProfile:
    """The profile called ``name``; ``ValueError`` naming the choices otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(
            f"profile {name!r} is not known; use one of {', '.join(PROFILES)}"
        ) from None
