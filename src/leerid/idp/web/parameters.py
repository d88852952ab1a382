"""The provider's parameter table and the answer to a refused request (``leerid.edge``).

Every parameter of every endpoint has a maximum length; control characters are refused
everywhere (newlines only in a quality report's ``comment`` and in a ``text``); the
identifiers RFC 6749 Appendix A defines as ``VSCHAR`` must be printable ASCII. The table is
documented in docs/identity-provider.md (*Parameters*). A refusal is the endpoint's normal error:

- ``/v1/token``, ``/v1/introspect``, ``/v1/revoke``, ``/v1/quality-reports…``,
  ``/v1/notices…``, ``/v1/service-providers…``, ``/v1/log/…``: JSON
  ``invalid_request`` (RFC 6749 §5.2), 400 (413 for an oversized body);
- ``/v1/userinfo``, ``/v1/disclosures/mine``: a Bearer ``invalid_request`` (RFC 6750 §3.1);
- ``/v1/auth``: checked by its handler, which needs the client first (RFC 6749 §4.1.2.1);
- every other path (the login, activation and logout pages…): the HTML error page.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import JSONResponse, Response
from starlette.types import Scope

from leerid.edge import Problem, Rule, Rules
from leerid.idp.oauth.errors import NO_STORE, OAuthError
from leerid.idp.web.browser_state import SEALED_LIMIT
from leerid.idp.web.errors import bearer_error
from leerid.idp.web.i18n import TEXTS
from leerid.idp.web.pages import Pages

__all__ = [
    "AUTHORIZATION",
    "MAX_BODY",
    "RULES",
    "checked",
    "page_text",
    "refusal",
    "rules_for",
]

MAX_BODY = 65536
"""Bytes of a request body (a login form with the largest sealed request fits)."""

_URI = Rule(2048)
_TOKEN = Rule(8192)

RULES = Rules(
    {
        # RFC 6749 Appendix A: client_id, client_secret, state, code and refresh_token are
        # VSCHAR. Client ids are at most 64 characters here (``leerid clients add``).
        "client_id": Rule(64, vschar=True),
        "client_secret": Rule(512, vschar=True),
        "redirect_uri": _URI,
        "post_logout_redirect_uri": _URI,
        "response_type": Rule(64),
        "response_mode": Rule(32),
        "scope": Rule(1024),
        "state": Rule(2048, vschar=True),
        "nonce": Rule(512),
        "code_challenge": Rule(128),
        "code_challenge_method": Rule(16),
        "prompt": Rule(64),
        "max_age": Rule(16),
        "ui_locales": Rule(256),
        "login_hint": Rule(256),
        "acr_values": Rule(256),
        "display": Rule(32),
        "claims_locales": Rule(256),
        "id_token_hint": _TOKEN,
        "request": _TOKEN,  # refused at /v1/auth (request_not_supported), sealed at /v1/login
        "request_uri": _URI,
        "grant_type": Rule(128),
        "code": Rule(SEALED_LIMIT, vschar=True),  # sealed: the grant is inside (issue 15)
        "code_verifier": Rule(128),  # RFC 7636 §4.1: 43 to 128 characters
        "refresh_token": Rule(512, vschar=True),
        "client_assertion": _TOKEN,
        "client_assertion_type": Rule(128),
        "token": _TOKEN,
        "token_type_hint": Rule(64),
        "access_token": Rule(2048),
        "csrf_token": Rule(128),
        "confirm": Rule(8),
        "username": Rule(64),
        "password": Rule(1024),
        "password_confirm": Rule(1024),
        "form_state": Rule(4096),
        "pupil_key": Rule(64),
        "attribute": Rule(64),
        "problem": Rule(64),
        "comment": Rule(2000, free_text=True),
        "ids": Rule(4096),
        "text": Rule(4000, free_text=True),  # a notice, an answer, a pupil's report
        "processors": Rule(32768),  # a verwerkers notice's list (compact JSON)
        "onward_recipient": Rule(8192),  # a doorgifte notice's recipient (compact JSON)
        "kbo": Rule(16),  # art. 4: an enterprise number, 0123.456.789 or BE0123456789
        "kind": Rule(32),
        "status": Rule(32),
    },
    default=Rule(2048),
)
"""One rule per parameter name; any other name: at most 2,048 characters, no control
character (unknown parameters are ignored by the endpoints, OIDC Core §3.1.2.1)."""

_LOGIN_FORM = RULES.with_rules({"request": Rule(SEALED_LIMIT)})
AUTHORIZATION = RULES
"""The authorization endpoint's table (checked by its handler)."""

_JSON_PATHS = (
    "/v1/token",
    "/v1/introspect",
    "/v1/revoke",
    "/v1/quality-reports",
    "/v1/notices",
    "/v1/service-providers",
    "/v1/log/",
)
_BEARER_PATHS = ("/v1/userinfo", "/v1/disclosures/mine")


def rules_for(prefix: str) -> Callable[[str], Rules | None]:
    """The table of each path under the issuer path ``prefix``."""
    auth, login = f"{prefix}/v1/auth", f"{prefix}/v1/login"

    def rules(path: str) -> Rules | None:
        if path == auth:
            return None
        return _LOGIN_FORM if path == login else RULES

    return rules


def page_text(lang: str, problem: Problem) -> str:
    """What an HTML page says about ``problem``, in ``lang``."""
    t = TEXTS[lang]
    if problem.kind == "too_large":
        return t["error_form_too_large"]
    reason = t[f"reason_{problem.kind}"].format(limit=problem.limit)
    return t["error_parameter"].format(name=problem.name, reason=reason)


def refusal(pages: Pages, prefix: str) -> Callable[[Scope, Problem], Response]:
    """The answer to a request the edge refuses, in the format of the path's endpoint."""

    def refuse(scope: Scope, problem: Problem) -> Response:
        path = str(scope["path"]).removeprefix(prefix)
        if path == "/v1/events":  # RFC 8936 §2.4.4
            body = {"err": "invalid_request", "description": problem.describe()}
            return JSONResponse(body, problem.status, headers=NO_STORE)
        if path.startswith(_JSON_PATHS):
            body = {"error": "invalid_request", "error_description": problem.describe()}
            return JSONResponse(body, problem.status, headers=NO_STORE)
        if path in _BEARER_PATHS:
            return bearer_error("invalid_request", problem.describe(), problem.status)
        return pages.error("nl", page_text("nl", problem), problem.status)

    return refuse


def checked(name: str, value: str, error: str = "invalid_request") -> str:
    """``value`` of a parameter found inside another (a Basic header, a JWT), or
    ``OAuthError(error)`` when it breaks the rule of ``name``."""
    problem = RULES.check(name, value)
    if problem is not None:
        raise OAuthError(error, problem.describe())
    return value
