"""A database that is gone or unreachable: 503 with ``Retry-After``, not 500 and a traceback.

Both servers (the provider and the LARS portal) wrap their application in
``DatabaseOutage``. An exception that means "the database cannot be used right now"
(connection refused or terminated, database gone, pool exhausted, SQLite file missing) is
answered with 503 and ``Retry-After`` in the form the request expects, and logged as one line
per failure class and minute, with a count of what was answered meanwhile. Every other
exception goes on to the server's own error handling. Recovery needs nothing here: the pools
drop dead connections when a disconnect is seen (pre-ping, SQLAlchemy's invalidation, and
``idp.hot_sql.renew_together``), so the first request after the database returns gets a
fresh connection.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable

import psycopg
from sqlalchemy import exc as sa_exc
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RETRY_AFTER", "DatabaseOutage", "OutageLog", "outage_class"]

RETRY_AFTER = 10
"""Seconds a client is asked to wait (RFC 9110 §10.2.3) before it tries again."""

log = logging.getLogger("leerid.store.outage")

# SQLite says "unable to open database file" when the file or its folder is gone, and
# "disk I/O error" / "no such table" when it was swapped for something else.
_SQLITE_OUTAGE = ("unable to open", "disk i/o", "no such table", "readonly", "is not a database")


def outage_class(exc: BaseException) -> str | None:
    """A short name of the failure when ``exc`` means the database cannot be used now."""
    if isinstance(exc, sa_exc.TimeoutError):  # every connection of the pool is busy
        return "pool exhausted"
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return "connection lost"
        return outage_class(exc.orig) if exc.orig is not None else None
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        return "database unreachable"
    if isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError):
        text = str(exc).lower()
        return "database file unusable" if any(s in text for s in _SQLITE_OUTAGE) else None
    return None


def _reason(exc: BaseException) -> str:
    """The driver's first line (no SQL, no values: those may carry personal data)."""
    orig = exc.orig if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None else exc
    first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    return first[:200]


class OutageLog:
    """One warning per failure class and ``period`` seconds, with what it stood for."""

    def __init__(self, period: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.period = period
        self.clock = clock
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._since: dict[str, int] = {}

    def record(self, kind: str, exc: BaseException) -> None:
        """Count one failure; log it when this class was not logged in the last period."""
        now = self.clock()
        with self._lock:
            last = self._last.get(kind)
            if last is not None and now - last < self.period:
                self._since[kind] = self._since.get(kind, 0) + 1
                return
            self._last[kind] = now
            skipped = self._since.pop(kind, 0)
        log.warning(
            "database unavailable (%s): %s; answering 503 with Retry-After (%d more since "
            "the last line of this kind)",
            kind,
            _reason(exc),
            skipped,
        )


Render = Callable[[Request, str], Response | None]
"""Builds the 503 for a request (``None``: the default for its kind)."""


class DatabaseOutage:
    """ASGI middleware: database outages become 503 with ``Retry-After``; others pass on.

    ``render(request, kind)`` gives the server's own answer (an HTML page in Dutch, an
    OAuth error); ``None`` falls back to JSON for APIs and plain text for the rest.
    """

    def __init__(self, app: ASGIApp, *, render: Render, outages: OutageLog) -> None:
        self.app = app
        self.render = render
        self.outages = outages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception as exc:
            kind = outage_class(exc)
            if kind is None or started:
                raise
            self.outages.record(kind, exc)
            request = Request(scope)
            response = self.render(request, kind) or default_response(request, kind)
            response.headers.setdefault("Retry-After", str(RETRY_AFTER))
            response.headers.setdefault("Cache-Control", "no-store")
            await response(scope, receive, send)


def wants_html(request: Request) -> bool:
    """A browser's navigation (``Accept: text/html``) rather than an API call."""
    return "text/html" in request.headers.get("accept", "")


def default_response(request: Request, kind: str) -> Response:
    from starlette.responses import JSONResponse, PlainTextResponse

    if request.url.path == "/healthz":
        return PlainTextResponse(f"database unavailable: {kind}", 503)
    if wants_html(request):
        return PlainTextResponse("De dienst is even niet beschikbaar. Probeer het zo opnieuw.", 503)
    return JSONResponse(
        {"error": "temporarily_unavailable", "error_description": f"database {kind}; retry"},
        503,
    )
