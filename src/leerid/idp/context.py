"""Everything an endpoint needs, built once per process by ``create_app``."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import Response

from leerid.idp.login.passwords import PasswordHasher
from leerid.idp.oauth.subject import Subjects
from leerid.idp.settings import IdpSettings
from leerid.idp.store.clients import Client, ClientCache
from leerid.idp.store.interface import IdpStore
from leerid.idp.store.keys import KeyRing
from leerid.idp.store.protocols import ProtocolCache
from leerid.idp.store.throttle import LoginThrottle
from leerid.idp.web.browser_state import Sealer
from leerid.idp.web.pages import Pages

__all__ = ["IdpContext", "SsoSession", "get_context"]


T = TypeVar("T")
_LIMITER = anyio.CapacityLimiter(24)
"""Threads doing database work at once per process (below the pool's 32 connections)."""

SESSION_COOKIE = "leerid_sso"
CSRF_COOKIE = "leerid_csrf"


@dataclass(frozen=True)
class SsoSession:
    """Issue 4 §4: the pupil's single sign-on session, carried in a sealed cookie."""

    sid: str
    account_uuid: str
    auth_time: int  # seconds since the epoch


@dataclass
class IdpContext:
    """Settings, database, caches and helpers shared by the endpoints of one process."""

    settings: IdpSettings
    engine: Engine
    """For transactions of several statements."""
    autocommit: Engine
    """A pool of autocommit connections, for reads and single-statement writes: one round
    trip each instead of BEGIN, statement, COMMIT/ROLLBACK."""
    store: IdpStore
    """What the handlers read and write, on the two pools above."""
    keys: KeyRing
    clients: ClientCache
    protocols: ProtocolCache
    sealer: Sealer
    hasher: PasswordHasher
    throttle: LoginThrottle
    pages: Pages
    subjects: Subjects
    """Issue 14 point 2: the opaque ``sub``'s secret, read once at start (no round trip
    per login)."""

    def sub(self, client: Client, account_uuid: str) -> str:
        """OIDC Core §2: the ``sub`` by which ``client`` knows the account ``account_uuid``
        (the account_uuid, or the opaque value of issue 14 point 2)."""
        return self.subjects.sub(client.subject, account_uuid)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a request's database work (short indexed statements).

        By default it runs on the event loop: on a loopback database a statement takes tens of
        microseconds and a hop to a thread costs more CPU than it saves, and CPU is what a
        2-core node runs out of. ``LEERID_DB_THREADS=1`` runs it in worker threads instead
        (for a database across a network, where round trips are long).
        """
        if not self.settings.db_threads:
            return fn(*args)
        return await anyio.to_thread.run_sync(functools.partial(fn, *args), limiter=_LIMITER)

    def session_from_cookie(self, request: Request) -> SsoSession | None:
        """The SSO session the cookie carries, unaltered and unexpired; not yet checked
        against logouts (``read_session`` does, or the code INSERT of a single sign-on)."""
        data = self.sealer.open("sso", request.cookies.get(SESSION_COOKIE))
        if data is None:
            return None
        try:
            return SsoSession(str(data["sid"]), str(data["sub"]), int(data["at"]))
        except (KeyError, TypeError, ValueError):
            return None

    def read_session(self, request: Request) -> SsoSession | None:
        """The live SSO session of this browser, or None (absent, altered, expired, ended)."""
        session = self.session_from_cookie(request)
        if session is None or self.store.session_ended(session.sid):
            return None
        return session

    def seal_session(self, session: SsoSession) -> str:
        """The cookie value of ``session``."""
        return self.sealer.seal(
            "sso",
            {"sid": session.sid, "sub": session.account_uuid, "at": session.auth_time},
            self.settings.session_lifetime,
        )

    def end_session(self, session: SsoSession) -> None:
        """Logout: refuse this session's cookie from now on, on every node."""
        expires = dt.datetime.fromtimestamp(session.auth_time, dt.UTC) + dt.timedelta(
            seconds=self.settings.session_lifetime
        )
        self.store.end_session(session.sid, expires, dt.datetime.now(dt.UTC))

    def cookie_options(self) -> dict[str, object]:
        """The cookie attributes of issue 4 §4, for ``Response.set_cookie(**…)``."""
        return {
            "httponly": True,
            "samesite": "lax",
            "secure": self.settings.secure_cookies,
            "path": self.settings.path or "/",
        }

    def set_cookie(
        self, response: Response, name: str, value: str, max_age: int | None = None
    ) -> None:
        """Issue 4 §4: HttpOnly, SameSite=Lax, Secure under https, scoped to the issuer path."""
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            httponly=True,
            samesite="lax",
            secure=self.settings.secure_cookies,
            path=self.settings.path or "/",
        )


def get_context(request: Request) -> IdpContext:
    """The context of the application serving ``request``."""
    ctx: IdpContext = request.app.state.idp
    return ctx
