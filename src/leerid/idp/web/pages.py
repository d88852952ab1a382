"""The HTML pages (Jinja2, autoescaped) and the security headers every response carries.

Issue 4 §4: pages work without JavaScript; CSP forbids scripts and framing
(``frame-ancestors 'none'``); pages are never cached. The one exception is the form_post
answer (issue 14 §1, ``leerid.idp.oauth.response_modes``): it carries its own CSP, which
allows its one auto-submit script by hash, and ``Referrer-Policy: origin`` (under
``no-referrer`` the POST would carry ``Origin: null``); the middleware keeps a response's own
value of a header and adds no second one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse

from leerid.idp.web.i18n import TEXTS

__all__ = ["SECURITY_HEADERS", "Pages"]

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
"""On every response. No ``form-action``: browsers apply it to the redirect after the login
form, which goes to the client's own origin."""


class Pages:
    """Renders the templates of ``leerid/idp/templates`` with the texts of a language."""

    def __init__(self, static_prefix: str) -> None:
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(["html"]),
            auto_reload=False,
        )
        self.static_prefix = static_prefix

    def render(self, name: str, lang: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        """Template ``name`` in ``lang`` as a response that is never cached."""
        html = self.env.get_template(name).render(
            lang=lang, t=TEXTS[lang], static_prefix=self.static_prefix, **context
        )
        return HTMLResponse(html, status_code, headers={"Cache-Control": "no-store"})

    def error(self, lang: str, message: str, status_code: int = 400) -> HTMLResponse:
        """An error page: what went wrong and what to do."""
        return self.render(
            "error.html", lang, status_code, title=TEXTS[lang]["error_title"], message=message
        )
