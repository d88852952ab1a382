"""How an authorization response travels back to the client: ``response_mode``.

OAuth 2.0 Multiple Response Type Encoding Practices §2.1 (``query``, ``fragment``) and OAuth
2.0 Form Post Response Mode §2 (``form_post``). Every answer of the authorization endpoint
that goes to the client's checked ``redirect_uri`` (the code, ``state``, ``iss`` of RFC 9207
and every error of RFC 6749 §4.1.2.1) uses the mode the request asked for, when the client's
profile allows it (issue 14 §1: ``acm`` allows all three, ``strict`` only ``query``).

Pure: the page of ``form_post`` is built here (escaped), the web layer sends it.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from html import escape
from urllib.parse import urlencode, urlsplit, urlunsplit

from leerid.idp.oauth.errors import AuthorizationError, add_query
from leerid.idp.oauth.profiles import ClientProfile

__all__ = [
    "DEFAULT_MODE",
    "FORM_POST_CSP",
    "FORM_POST_SCRIPT",
    "RESPONSE_MODES",
    "add_fragment",
    "check_response_mode",
    "error_mode",
    "form_post_page",
    "redirect_location",
]

DEFAULT_MODE = "query"
"""Multiple Response Types §2.1: the default mode of response_type ``code``."""
RESPONSE_MODES = ("query", "fragment", "form_post")
"""Every mode leerid knows; which one a client may use is its profile's ``response_modes``."""

FORM_POST_SCRIPT = "document.forms[0].submit();"
"""Form Post §2: the page submits itself; the only script, allowed by its hash."""
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(FORM_POST_SCRIPT.encode()).digest()).decode()
FORM_POST_CSP = (
    f"default-src 'none'; script-src 'sha256-{_SCRIPT_HASH}'; style-src 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
"""The page's Content-Security-Policy: its one script by hash, never 'unsafe-inline'."""

_BUTTON = {"nl": "Verder naar de toepassing", "en": "Continue to the application"}


def check_response_mode(params: Mapping[str, str], rules: ClientProfile) -> str:
    """The mode asked (``query`` when absent), or ``invalid_request`` when the profile does
    not allow it (Multiple Response Types §2.1; issue 14 §1)."""
    mode = params.get("response_mode", DEFAULT_MODE)
    if mode not in rules.response_modes:
        allowed = ", ".join(rules.response_modes)
        raise AuthorizationError(
            "invalid_request",
            f"response_mode {mode} is not allowed for this client (profile {rules.name}); "
            f"use {allowed}",
        )
    return mode


def error_mode(params: Mapping[str, str], rules: ClientProfile, duplicated: bool) -> str:
    """The mode an error travels in: the one asked when the profile allows it (Form Post §2:
    errors too), else ``query`` (the default, which every client understands)."""
    mode = params.get("response_mode", DEFAULT_MODE)
    return mode if not duplicated and mode in rules.response_modes else DEFAULT_MODE


def add_fragment(uri: str, params: Mapping[str, str]) -> str:
    """Multiple Response Types §2.1 ``fragment``: the parameters in the URI's fragment."""
    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, urlencode(params)))


def redirect_location(uri: str, params: Mapping[str, str], mode: str) -> str:
    """The ``Location`` of a ``query`` or ``fragment`` answer."""
    if mode == "fragment":
        return add_fragment(uri, params)
    return add_query(uri, dict(params))


def form_post_page(uri: str, params: Mapping[str, str], lang: str) -> str:
    """Form Post §2 and §5: an HTML page whose form POSTs ``params`` to ``uri`` (the client's
    registered ``redirect_uri``), auto-submitted by ``FORM_POST_SCRIPT``; a visible button
    for browsers without scripts. Every value is HTML-escaped."""
    inputs = "\n".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in params.items()
    )
    button = escape(_BUTTON.get(lang, _BUTTON["en"]))
    return (
        f'<!DOCTYPE html>\n<html lang="{escape(lang)}">\n<head><meta charset="utf-8">'
        f"<title>LeerID</title></head>\n<body>\n"
        f'<form method="post" action="{escape(uri)}">\n{inputs}\n'
        f'<noscript><button type="submit">{button}</button></noscript>\n</form>\n'
        f"<script>{FORM_POST_SCRIPT}</script>\n</body>\n</html>\n"
    )
