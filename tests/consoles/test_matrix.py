"""Every console page by every role over HTTP: an allowed role gets the page, any other 403
(not 404, not 200), no session the login; and every GET route of both consoles is in the
table (tests/consoles/pages.py), so a page added later is covered without editing a test."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import httpx
import pytest
from fastapi.routing import APIRoute

from leerid.idp.app import create_app
from leerid.idp.settings import IdpSettings
from leerid.sp.portal.app import create_portal
from tests.consoles.pages import (
    APPS,
    DOWNLOAD,
    HTML,
    MISSING,
    PAGES,
    PUBLIC,
    REDIRECT,
    ROLES,
    Page,
)
from tests.consoles.sessions import http_login
from tests.consoles.world import LOGIN, World

pytestmark = [pytest.mark.live]


def _flat(routes: Iterable[object]) -> Iterator[tuple[str, set[str]]]:
    """Each route's full path and methods; a router included in an app (FastAPI keeps it
    as one entry) gives its routes with their prefix."""
    for route in routes:
        included = getattr(route, "effective_route_contexts", None)
        if included is not None:
            for context in included():
                inner = context.original_route
                if isinstance(inner, APIRoute):
                    yield context.path, set(inner.methods or ())
        elif isinstance(route, APIRoute):
            yield route.path, set(route.methods or ())


def _get_routes(routes: Iterable[object], prefix: str) -> set[str]:
    return {
        path
        for path, methods in _flat(routes)
        if "GET" in methods and (path == prefix or path.startswith(prefix + "/"))
    }


def app_routes(world: World, app: str) -> set[str]:
    """The GET routes under the app's console prefix, read from the app itself."""
    if app == "lars":
        return _get_routes(create_portal(world.lars.provider).routes, APPS[app])
    idp = world.lars.idp
    provider = create_app(IdpSettings(issuer=idp.issuer, database_url=idp.database_url))
    try:
        return _get_routes(provider.routes, APPS[app])
    finally:
        ctx = provider.state.idp
        ctx.hasher.close()
        for engine in (ctx.engine, ctx.autocommit):
            engine.dispose()


@pytest.mark.parametrize("app", sorted(APPS))
def test_every_get_route_is_in_the_table(world: World, app: str) -> None:
    routes = app_routes(world, app)
    table = {p.route for p in PAGES if p.app == app}
    assert routes - table == set(), f"GET routes of {app} without a row in tests/consoles/pages.py"
    assert table - routes == set(), f"rows of {app} in tests/consoles/pages.py without a route"


@pytest.fixture(scope="module")
def clients(world: World) -> Iterator[dict[tuple[str, str], httpx.Client]]:
    """One logged-in HTTP client per app and role, and one without a session per app."""
    made: dict[tuple[str, str], httpx.Client] = {}
    try:
        for app in {p.app for p in PAGES}:
            made[(app, "")] = httpx.Client(timeout=30)
            for role in ROLES[app]:
                made[(app, role)] = http_login(world, world.account(app, role))
        yield made
    finally:
        for client in made.values():
            client.close()


def _expect(page: Page, role: str, answer: httpx.Response) -> str:
    """What is wrong with ``answer`` for ``role`` ("" when nothing)."""
    kind = answer.headers.get("content-type", "")
    status = answer.status_code
    if page.kind == MISSING:
        good = status == 404 and kind.startswith("text/html")
        return "" if good else f"{role or 'no session'}: {status} {kind}, not a 404 page"
    if not role and page.allowed != PUBLIC:
        location = answer.headers.get("location", "")
        good = status == 303 and location.endswith(LOGIN[page.app])
        return "" if good else f"no session: {status} to {location!r}, not 303 to the login"
    if page.allowed != PUBLIC and role not in page.allowed:
        good = status == 403 and kind.startswith("text/html")
        return "" if good else f"{role}: {status} {kind}, not a 403 page"
    if page.kind == REDIRECT:
        return "" if status in (301, 302, 303, 307, 308) else f"{role}: {status}, not a redirect"
    if page.kind == DOWNLOAD:
        good = status == 200 and not kind.startswith("text/html")
        return "" if good else f"{role or 'no session'}: {status} {kind}, not the file"
    assert page.kind == HTML
    good = status == 200 and kind.startswith("text/html")
    return "" if good else f"{role or 'no session'}: {status} {kind}, not the page"


@pytest.mark.parametrize("page", PAGES, ids=[f"{p.app}:{p.name}" for p in PAGES])
def test_each_role_gets_the_page_or_403(
    world: World, clients: dict[tuple[str, str], httpx.Client], page: Page
) -> None:
    url = world.url(page.app, page.path(world.params[page.app]))
    # A login page starts a new session (it logs a member of staff out): asked without one.
    roles = ("",) if page.allowed == PUBLIC and page.kind != MISSING else ("", *ROLES[page.app])
    wrong = [
        problem
        for role in roles
        if (problem := _expect(page, role, clients[(page.app, role)].get(url)))
    ]
    assert wrong == [], f"{url}: " + "; ".join(wrong)
