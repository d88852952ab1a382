"""The console's pages: its Jinja environment and the ``Console`` every handler gets.

Issue 13: Dutch, ``lang="nl"``, no script and no inline style (the provider's CSP is
``default-src 'none'; style-src 'self'``); never cached; times in Europe/Brussels. A short
message after a form (``redirect_with``) rides in a sealed cookie of its own for one
minute and is shown once by the next page.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from leerid.idp.console.nav import nav_for
from leerid.protocol.lifecycle import BRUSSELS

if TYPE_CHECKING:
    from leerid.idp.context import IdpContext

__all__ = ["COOKIE_PATH", "Console", "Who", "brussels", "console_of", "page_number"]

TEMPLATES = Path(__file__).with_name("templates")
COOKIE_PATH = "/beheer"
MESSAGE_COOKIE = "beheer_bericht"
MESSAGE_PURPOSE = "beheer-bericht"
STYLESHEET = "/beheer/static/console.css"


class Who(Protocol):
    """What a page needs of the person looking: name, role and the session's CSRF token."""

    @property
    def username(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def csrf(self) -> str: ...


def brussels(moment: dt.datetime | None, with_seconds: bool = False) -> str:
    """A moment as the console shows it: Europe/Brussels, ``2026-03-01 14:05``."""
    if moment is None:
        return "—"
    if moment.tzinfo is None:  # SQLite returns naive values for aware columns (UTC)
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(BRUSSELS).strftime(
        "%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M"
    )


class Console:
    """Renders the console's templates and its redirects, for one provider process."""

    def __init__(self, ctx: IdpContext) -> None:
        self.ctx = ctx
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=select_autoescape(["html"]),
            auto_reload=False,
        )
        self.env.filters["brussels"] = brussels

    def _cookie(self, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            httponly=True,
            samesite="strict",
            secure=self.ctx.settings.secure_cookies,
            path=COOKIE_PATH,
        )

    def set_cookie(self, response: Response, name: str, value: str, max_age: int) -> None:
        """A console cookie: HttpOnly, SameSite=Strict, Secure under https, path /beheer."""
        self._cookie(response, name, value, max_age)

    def clear_cookie(self, response: Response, name: str) -> None:
        response.delete_cookie(
            name,
            path=COOKIE_PATH,
            secure=self.ctx.settings.secure_cookies,
            httponly=True,
            samesite="strict",
        )

    def render(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        """Template ``name`` as a response that is never cached."""
        html = self.env.get_template(name).render(stylesheet=STYLESHEET, **context)
        return HTMLResponse(html, status, headers={"Cache-Control": "no-store"})

    def page(
        self, request: Request, template: str, who: Who | None, status: int = 200, **ctx: Any
    ) -> HTMLResponse:
        """A page for ``who`` (None: nobody logged in) with its menu and a pending message."""
        flash = self.ctx.sealer.open(MESSAGE_PURPOSE, request.cookies.get(MESSAGE_COOKIE))
        response = self.render(
            template,
            status,
            who=who,
            nav=nav_for(who.role) if who is not None else [],
            current=request.url.path,
            flash=flash,
            **ctx,
        )
        if flash is not None:
            self.clear_cookie(response, MESSAGE_COOKIE)
        return response

    def redirect_with(
        self, who: Who | None, path: str, message: str, bad: bool = False
    ) -> Response:
        """303 to ``path`` (a path of the console only: no open redirect) with ``message``
        shown once on the page there."""
        if not path.startswith(COOKIE_PATH) or path.startswith("//") or "\\" in path:
            path = COOKIE_PATH
        response = RedirectResponse(path, 303, headers={"Cache-Control": "no-store"})
        sealed = self.ctx.sealer.seal(MESSAGE_PURPOSE, {"text": message, "bad": bad}, 60)
        self._cookie(response, MESSAGE_COOKIE, sealed, 60)
        return response

    def message(self, who: Who | None, heading: str, text: str, status: int) -> HTMLResponse:
        """A page with one heading and one sentence (a refusal, a missing page)."""
        return self.render(
            "console_message.html",
            status,
            who=who,
            nav=nav_for(who.role) if who is not None else [],
            current="",
            flash=None,
            heading=heading,
            text=text,
        )


def console_of(request: Request) -> Console:
    """The console of the application serving ``request`` (built once, at its first use)."""
    console: Console | None = getattr(request.app.state, "console", None)
    if console is None:
        console = Console(request.app.state.idp)
        request.app.state.console = console
    return console


def page_number(request: Request, name: str = "pagina") -> int | None:
    """The page asked for in the query (1 when absent), or None when it is no number ≥ 1."""
    text = request.query_params.get(name, "1")
    if not text.isdigit() or len(text) > 6 or int(text) < 1:
        return None
    return int(text)
