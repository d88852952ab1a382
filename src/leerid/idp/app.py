"""``create_app``: the identity provider as an ASGI application (FastAPI on uvicorn).

Routers are listed in ``ROUTERS`` (mounted under the issuer's path, ``/op``); other parts add
theirs to that list. ``/healthz`` and ``/metrics`` sit at the root.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, FastAPI
from sqlalchemy import Engine, event, text
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from leerid import log_privacy
from leerid.edge import EdgeGuard
from leerid.idp.console import CONSOLE_ROUTERS, FALLBACK
from leerid.idp.console.guard import Refused, refused
from leerid.idp.context import IdpContext, get_context
from leerid.idp.login.passwords import Argon2Parameters, PasswordHasher
from leerid.idp.metrics import CONTENT_TYPE_LATEST, render_metrics
from leerid.idp.oauth.subject import Subjects
from leerid.idp.settings import IdpSettings
from leerid.idp.store.clients import ClientCache
from leerid.idp.store.key_rotation import KeyRotator
from leerid.idp.store.keys import KeyRing, ensure_keys
from leerid.idp.store.protocols import ProtocolCache
from leerid.idp.store.server_secret import OPAQUE_SUB_SECRET, load_server_secret
from leerid.idp.store.sql import SqlStore, renew_together
from leerid.idp.store.throttle import LoginThrottle
from leerid.idp.store.tlog.integrator import Integrator
from leerid.idp.web import (
    activation,
    authorization,
    disclosures,
    discovery,
    events,
    introspection,
    log,
    login,
    logout,
    my_data,
    notices,
    parameters,
    protocol_text,
    quality_reports,
    receipts,
    revocation,
    service_providers,
    token,
    userinfo,
)
from leerid.idp.web.browser_state import Sealer
from leerid.idp.web.errors import authorization_error_redirect
from leerid.idp.web.i18n import TEXTS, choose_language
from leerid.idp.web.pages import SECURITY_HEADERS, STATIC, Pages
from leerid.schema import get_engine
from leerid.store.engine import make_engine
from leerid.store.outage import DatabaseOutage, OutageLog, wants_html

__all__ = ["ROUTERS", "create_app"]

ROUTERS: list[APIRouter] = [
    authorization.router,  # the hot path first: routes are matched in this order
    token.router,
    userinfo.router,
    login.router,
    discovery.router,
    introspection.router,
    revocation.router,
    logout.router,
    activation.router,
    quality_reports.router,
    notices.router,
    service_providers.router,
    my_data.router,
    receipts.router,
    protocol_text.router,
    disclosures.router,
    events.router,
    log.router,
]
"""Every router of the provider, mounted under the issuer path (``/op``)."""

_HEADERS = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
_HSTS = (b"strict-transport-security", b"max-age=31536000")


class SecurityHeaders:
    """Issue 4 §4: CSP with ``frame-ancestors 'none'`` and friends on every response."""

    def __init__(self, app: ASGIApp, *, https: bool = False) -> None:
        self.app = app
        # RFC 6797: under an https issuer browsers must never fall back to http (the SSO
        # cookie is Secure, but a first http request could still be intercepted).
        self.headers = _HEADERS + ([_HSTS] if https else [])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                own = list(message.get("headers", []))
                named = {name.lower() for name, _ in own}  # a page's own CSP (form_post) wins
                message["headers"] = own + [h for h in self.headers if h[0] not in named]
            await send(message)

        await self.app(scope, receive, with_headers)


_RECEIPT_LEAF = re.compile(r"(/mijn-gegevens/bewijs/)[^/]*")


class _PathOnly(logging.Filter):
    """Issue 4 §5: the access log keeps the path, never the query string, which may carry an
    ``id_token_hint`` (an ID token with the pupil's name), a ``login_hint`` or a ``state``;
    nor the leaf hash of a pupil's receipt download (issue 12 §5)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            path = _RECEIPT_LEAF.sub(r"\1-", args[2].split("?", 1)[0])
            record.args = (*args[:2], path, *args[3:])
        return True


def _configure_logging(level: str) -> None:
    """``leerid.*`` loggers at ``level`` (``$LEERID_LOG_LEVEL``) on standard error (no
    personal data)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _PathOnly) for f in access.filters):
        access.addFilter(_PathOnly())
    logger = logging.getLogger("leerid")
    logger.setLevel(level.upper())
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        logger.addHandler(handler)
    log_privacy.install()  # the values in PostgreSQL's error details stay out of the log


def _autocommit_on_connect(dbapi_connection: Any, _record: Any) -> None:
    """psycopg: the connection autocommits from its creation on."""
    dbapi_connection.autocommit = True


def _autocommit_engine(url: str, pool_size: int) -> Engine:
    """A pool of connections that autocommit (one round trip per statement, no BEGIN).

    On PostgreSQL each connection is put in autocommit once, when it is opened, rather than
    by SQLAlchemy's ``isolation_level="AUTOCOMMIT"`` at every checkout and back at every
    return (which doubles the checkout's CPU); only single statements run on these pools,
    transactions go to ``IdpContext.engine``.
    """
    pool = make_engine(
        url,
        pool_pre_ping=False,
        pool_size=pool_size,
        max_overflow=16,
        hide_parameters=True,  # no username, INSZ or token in an error message or log line
    )
    if pool.dialect.name != "postgresql":
        return pool.execution_options(isolation_level="AUTOCOMMIT")
    event.listen(pool, "connect", _autocommit_on_connect)
    return pool


def create_app(settings: IdpSettings | None = None) -> FastAPI:
    """The identity provider for ``settings`` (default: from the environment)."""
    settings = settings or IdpSettings.from_env()
    _configure_logging(settings.log_level)
    get_engine(settings.database_url)  # migrates the schema when it is behind
    ctx = _context(settings)
    app = FastAPI(
        title="LeerID identity provider",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        redirect_slashes=False,  # its redirect is built from the Host header (issue 8)
        lifespan=_lifespan(ctx),
    )
    app.state.idp = ctx
    for router in ROUTERS:
        app.include_router(router, prefix=settings.path)
    for router in [*CONSOLE_ROUTERS, FALLBACK]:  # issue 13: DOV's console, /beheer at the root
        app.include_router(router)
    app.add_exception_handler(Refused, refused)
    _add_plain_routes(app, ctx)
    app.add_middleware(DatabaseOutage, render=_outage_response, outages=OutageLog())
    app.add_middleware(
        EdgeGuard,
        rules_for=parameters.rules_for(settings.path),
        refuse=parameters.refusal(ctx.pages, settings.path),
        max_body=parameters.MAX_BODY,
    )
    app.add_middleware(SecurityHeaders, https=settings.secure_cookies)
    return app


def _lifespan(ctx: IdpContext) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    """Issue 12 §6: this process's transparency-log integrator runs while the app serves;
    issue 14 §4: so does its signing-key rotation loop."""

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        s = ctx.settings
        integrator = Integrator(
            ctx.engine,
            s.tlog_origin,
            origin_set=s.tlog_origin_set,
            interval=s.tlog_interval,
            lease=s.tlog_lease,
        )
        rotator = KeyRotator(
            ctx.engine, s.key_rotation_period, s.key_publish_ahead, s.id_token_lifetime
        )
        integrator.start()
        rotator.start()
        try:
            yield
        finally:
            rotator.stop()
            integrator.stop()

    return lifespan


def _context(settings: IdpSettings) -> IdpContext:
    """The pools, caches and helpers of this process."""
    # The hot path's own pool: no pre-ping round trip on every checkout (a dropped
    # connection fails one request, which the client retries), room for concurrent requests.
    engine = make_engine(
        settings.database_url,
        pool_pre_ping=False,
        pool_size=8,
        max_overflow=16,
        hide_parameters=True,  # no username, INSZ or token in an error message or log line
    )
    ensure_keys(engine)
    autocommit = _autocommit_engine(settings.database_url, 16)
    renew_together(engine, autocommit)
    return IdpContext(
        settings=settings,
        engine=engine,
        autocommit=autocommit,
        store=SqlStore(engine, autocommit),
        keys=KeyRing(autocommit, settings.id_token_lifetime, settings.cache_seconds),
        clients=ClientCache(autocommit, settings.cache_seconds),
        protocols=ProtocolCache(autocommit, settings.cache_seconds),
        sealer=Sealer(load_server_secret(engine)),
        hasher=PasswordHasher(Argon2Parameters(*settings.argon2), settings.hash_concurrency),
        throttle=LoginThrottle(
            engine,
            settings.throttle,
            secret=settings.throttle_secret,
            db_threads=settings.db_threads,
        ),
        pages=Pages(static_prefix=f"{settings.path}/static"),
        subjects=Subjects(load_server_secret(engine, OPAQUE_SUB_SECRET)),
    )


def _add_plain_routes(app: FastAPI, ctx: IdpContext) -> None:
    """The stylesheet, ``/healthz`` and ``/metrics``."""

    @app.get(f"{ctx.settings.path}/static/leerid.css", include_in_schema=False)
    async def stylesheet() -> Response:
        return FileResponse(
            STATIC / "leerid.css", headers={"Cache-Control": "public, max-age=3600"}
        )

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> Response:
        """Alive and the database answers."""
        with ctx.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return PlainTextResponse("ok", headers={"Cache-Control": "no-store"})

    @app.get("/metrics", include_in_schema=False)
    async def metrics_endpoint() -> Response:
        """Prometheus exposition format."""
        body = render_metrics(bool(ctx.settings.metrics_dir))
        return Response(body, media_type=CONTENT_TYPE_LATEST)


def _outage_response(request: Request, kind: str) -> Response | None:
    """Issue 8 §13: the provider's 503 while the database is gone (see store.outage)."""
    ctx = get_context(request)
    known = request.scope.get("leerid.redirect")
    if known is not None:  # RFC 6749 §4.1.2.1: client and redirect_uri were verified
        redirect_uri, state, mode = known
        return authorization_error_redirect(
            redirect_uri,
            "temporarily_unavailable",
            "the provider cannot reach its database; try again in a minute",
            state,
            ctx.settings.issuer,
            mode,
        )
    if wants_html(request) and request.url.path != "/healthz":
        lang = choose_language(request.query_params.get("ui_locales"))
        return ctx.pages.error(lang, TEXTS[lang]["error_unavailable"], 503)
    return None  # JSON (temporarily_unavailable) for APIs, the reason for /healthz
