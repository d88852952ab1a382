"""The LARS portal: the reference application on the kit (server-rendered, Dutch).

Pupils log in through LeerID and see what the provider holds about them and what the
Department disclosed to it; staff log in with their own accounts and see, by role, pupils,
the privacy log, data-quality reports, breaches and the evidence of the measures.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Request
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, Response

from leerid import log_privacy
from leerid.edge import EdgeGuard
from leerid.sp.kit import dossier, log_receipts, privacy_log, retention
from leerid.sp.kit.events_client import EventsClient
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.relying_party import RelyingParty
from leerid.sp.kit.throttle import StaffLoginThrottle, purge_spent
from leerid.sp.portal import (
    dpo_log_pages,
    dpo_pages,
    parameters,
    pupil_pages,
    staff_admin_pages,
    staff_pages,
)
from leerid.sp.portal.browser_session import SessionSealer
from leerid.sp.portal.following import poller, witness_loop
from leerid.sp.portal.guard import PortalDep, Refused, not_here, refused
from leerid.sp.portal.state import PAGE_HEADERS, Portal, claim_names
from leerid.sp.portal.templating import TEMPLATES, render
from leerid.store.outage import DatabaseOutage, OutageLog, wants_html

__all__ = ["PAGE_HEADERS", "claim_names", "create_portal", "daily_duties"]

log = logging.getLogger("leerid.sp.portal")

STATIC_FILES = {"portal.css": "text/css", "copy.js": "text/javascript"}

plain = APIRouter()
"""The routes without a page: the stylesheet, the copy script, the health check."""


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


async def daily_duties(provider: ServiceProvider, interval_hours: float) -> None:
    """Art. 3 and 6: the retention purge of the disclosed data, then the dossier's own
    retention, and the privacy-log pruning, once a day; the staff login throttle's spent
    rows (issue 8 §5); the witness's proofs as old as the pruned log (issue 12)."""
    while True:
        try:
            result = await asyncio.to_thread(
                retention.purge, provider.engine, provider.retention_period
            )
            own = await asyncio.to_thread(dossier.purge, provider.engine, provider.settings.dossier)
            cutoff = provider.privacy_log_keep.before(dt.datetime.now(dt.UTC))
            pruned = await asyncio.to_thread(
                privacy_log.prune, provider.engine, provider.secrets, cutoff
            )
            forgotten = await asyncio.to_thread(purge_spent, provider.engine)
            await asyncio.to_thread(log_receipts.prune_proofs, provider.engine, cutoff)
            log.info(
                "daily duties: %d pupils purged (%d dossiers kept), %d dossier entries past "
                "their own retention deleted, %d log entries pruned, %d throttle rows purged",
                result.count,
                result.dossiers_kept,
                sum(own.deleted.values()),
                pruned.count,
                forgotten,
            )
        except Exception:  # the job must survive a bad night (logged, retried tomorrow)
            log.exception("daily duties failed")
        await asyncio.sleep(interval_hours * 3600)


def _static_file(name: str) -> Response:
    return Response(
        (TEMPLATES / name).read_text(encoding="utf-8"),
        media_type=STATIC_FILES[name],
        headers={"Cache-Control": "public, max-age=3600"},
    )


@plain.get("/static/portal.css")
async def stylesheet() -> Response:
    return _static_file("portal.css")


@plain.get("/static/copy.js")
async def copy_script() -> Response:  # the "Kopieer" buttons (progressive enhancement)
    return _static_file("copy.js")


@plain.get("/healthz")
async def healthz(portal: PortalDep) -> Response:
    """Alive and the database answers (503 with the reason when it does not)."""
    await asyncio.to_thread(portal.provider.ping)
    return Response("ok", media_type="text/plain", headers={"Cache-Control": "no-store"})


def _outage_page(site: str) -> Callable[[Request, str], Response | None]:
    def outage_page(request: Request, _kind: str) -> Response | None:
        """Issue 8 §13: a page, not a 500, while the database is gone (the session stays)."""
        if request.url.path == "/healthz" or not wants_html(request):
            return None
        html = render(
            "message.html",
            site=site,
            nav=[],
            csrf="",
            flash=None,
            heading="Even niet beschikbaar",
            message=f"{site} kan zijn gegevens nu niet bereiken. Wacht een minuutje en "
            "probeer dan opnieuw.",
            bad=True,
            back=request.url.path if request.method == "GET" else "/",
        )
        return HTMLResponse(html, 503)

    return outage_page


def _headers(csp: str, secure: bool) -> Callable[..., Awaitable[Response]]:
    async def headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", csp)
        for key, value in PAGE_HEADERS.items():
            response.headers.setdefault(key, value)
        if secure:  # RFC 6797: served over https, never fall back to http
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    return headers


def _add_routes(app: FastAPI, router: APIRouter) -> None:
    """The router's routes on the app itself, so that ``app.routes`` lists every one."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            raise TypeError(f"the portal has API routes only, not {route!r}")
        app.add_api_route(
            route.path,
            route.endpoint,
            methods=sorted(route.methods or ()),
            response_class=route.response_class,
            name=route.name,
        )


STOP_SECONDS = 10.0
"""How long a stopping portal waits for its background work to end its round."""


def _lifespan(portal: Portal) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    """The portal's background work: the daily duties, the events poller (issue 10) and the
    witness of DOV's log (issue 12, once ``[log] vkey`` is set)."""
    provider, settings = portal.provider, portal.provider.settings

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        tasks = []
        if settings.purge_interval_hours > 0:
            tasks.append(asyncio.create_task(daily_duties(provider, settings.purge_interval_hours)))
        if settings.events.poll_interval > 0:
            interval = settings.events.poll_interval
            tasks.append(asyncio.create_task(poller(portal.events, provider, interval)))
        if settings.log.enabled:
            tasks.append(asyncio.create_task(witness_loop(provider, portal.rp)))
        yield
        for task in tasks:
            task.cancel()
        if tasks:  # their own ends run now: a poll stopped mid-round releases its lease,
            # which would otherwise hold `leerid sp sync` off for its five minutes
            await asyncio.wait(tasks, timeout=STOP_SECONDS)
        await portal.rp.aclose()

    return lifespan


def create_portal(provider: ServiceProvider, rp: RelyingParty | None = None) -> FastAPI:
    """The portal app for ``provider``."""
    log_privacy.install()  # the values in PostgreSQL's error details stay out of the log
    settings = provider.settings
    relying_party = rp or RelyingParty(settings)
    portal = Portal(
        provider=provider,
        rp=relying_party,
        sealer=SessionSealer(provider.secrets.session_key, settings.secure_cookies),
        throttle=StaffLoginThrottle(
            provider.engine, settings.staff_login, provider.secrets.session_key
        ),
        names=claim_names(provider),
        events=EventsClient(settings, provider.engine, relying_party),
    )
    csp = (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "base-uri 'none'; "
        f"form-action 'self' {_origin(settings.issuer)}; frame-ancestors 'none'"
    )

    app = FastAPI(
        title=f"{settings.name} portal",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=_lifespan(portal),
        redirect_slashes=False,  # its redirect is built from the Host header (issue 8)
    )
    app.state.provider = provider
    app.state.portal = portal
    app.add_middleware(  # inside the headers below, so that its pages carry them too
        EdgeGuard,
        rules_for=parameters.rules_for,
        refuse=parameters.refusal(settings.name),
        max_body=parameters.MAX_BODY,
    )
    # inside the headers middleware below: the 503 page gets the same CSP and headers
    app.add_middleware(DatabaseOutage, render=_outage_page(settings.name), outages=OutageLog())
    app.middleware("http")(_headers(csp, settings.secure_cookies))
    app.add_exception_handler(Refused, refused)
    app.add_exception_handler(HTTPException, not_here)  # an HTML page, never JSON
    for router in (
        pupil_pages.router,
        staff_pages.router,
        staff_admin_pages.router,
        dpo_pages.router,
        dpo_log_pages.router,
        plain,
    ):
        _add_routes(app, router)
    return app
