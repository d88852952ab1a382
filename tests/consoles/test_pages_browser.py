"""Every console page for every role that may see it, in a real headless Chromium, at 1280 and
375 px: axe-core without violations, no horizontal scroll on a phone, one ``<main>`` and one
``<h1>``, Dutch without code words, and a screenshot of each kept by the run in
``.leerid/screenshots/<app>/<role>/<page>-<width>.png`` (git-ignored)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.axe import ROOT, WIDTHS, violations
from tests.consoles.pages import HTML, MISSING, PAGES, PUBLIC, ROLES
from tests.consoles.pages import Page as ConsolePage
from tests.consoles.sessions import page_login
from tests.consoles.world import World
from tests.test_page_words import check

pytestmark = [pytest.mark.browser, pytest.mark.live]

SCREENSHOTS = ROOT / ".leerid" / "screenshots"
ANONYMOUS = "anoniem"
"""The role name of a visitor without a session (the login pages)."""


def cases() -> list[tuple[ConsolePage, str]]:
    """Each HTML page with each role that may see it."""
    found = []
    for page in PAGES:
        if page.kind != HTML:
            continue
        roles = (ANONYMOUS,) if page.allowed == PUBLIC else ROLES[page.app]
        found += [(page, r) for r in roles if page.allowed == PUBLIC or r in page.allowed]
    return found


class Tabs:
    """One browser context per app and role, logged in once, one tab each."""

    def __init__(self, browser: Browser, world: World) -> None:
        self.browser, self.world = browser, world
        self.contexts: dict[tuple[str, str], tuple[BrowserContext, Page]] = {}

    def tab(self, app: str, role: str) -> Page:
        if (app, role) not in self.contexts:
            context = self.browser.new_context()
            tab = context.new_page()
            if role != ANONYMOUS:
                page_login(tab, self.world, self.world.account(app, role))
            self.contexts[(app, role)] = (context, tab)
        return self.contexts[(app, role)][1]

    def close(self) -> None:
        for context, _tab in self.contexts.values():
            context.close()


@pytest.fixture(scope="module")
def tabs(browser: Browser, world: World) -> Iterator[Tabs]:
    made = Tabs(browser, world)
    yield made
    made.close()


def row_of(app: str, path: str) -> ConsolePage | None:
    """The table's row for ``path`` (a named route before the catch-all)."""
    found = [p for p in PAGES if p.app == app and p.matches(path)]
    found.sort(key=lambda p: p.kind == MISSING)
    return found[0] if found else None


DATED = {
    "operator-zonder-art6": "operator",
    "dpo-zonder-art6": "dpo",
    "toegangscontrole-zonder-art6": "toegangscontrole",
}
"""A role without its art. 6 dates, and the same role with them: its menu may show the pages
of the role, whose 403 then says which date is missing (art. 6)."""


def dead_menu_links(tab: Page, app: str, role: str) -> list[str]:
    """The menu's links that the table says answer ``role`` with 403 or 404: a role is
    shown only what it may open."""
    hrefs = tab.eval_on_selector_all("nav a[href]", "links => links.map(a => a.pathname)")
    roles = {role, DATED.get(role, role)}
    dead = []
    for href in hrefs:
        row = row_of(app, href)
        if row is not None and (
            row.kind == MISSING or not (row.allowed == PUBLIC or roles & row.allowed)
        ):
            dead.append(href)
    return dead


def no_horizontal_scroll(tab: Page) -> bool:
    return bool(tab.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def look_at(tab: Page, url: str, app: str, role: str, shot: str) -> None:
    """The checks of every page shown: landmarks, words, menu, axe and the screenshots."""
    assert tab.get_by_role("main").count() == 1
    assert tab.get_by_role("heading", level=1).count() == 1
    check(url, tab.content())
    if role != ANONYMOUS:
        assert dead_menu_links(tab, app, role) == [], f"{role} is shown links it may not open"
    found: list[str] = []
    folder = SCREENSHOTS / app / role
    folder.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        tab.set_viewport_size({"width": width, "height": 800})
        found += violations(tab)
        if width <= 375:
            assert no_horizontal_scroll(tab), f"{url} scrolls sideways at {width} px"
        tab.screenshot(path=str(folder / f"{shot}-{width}.png"), full_page=True)
    assert found == [], "\n".join(found)


@pytest.mark.parametrize(
    ("page", "role"), cases(), ids=[f"{p.app}:{r}:{p.name}" for p, r in cases()]
)
def test_the_page_is_accessible_at_both_widths(
    world: World, tabs: Tabs, page: ConsolePage, role: str
) -> None:
    tab = tabs.tab(page.app, role)
    url = world.url(page.app, page.path(world.params[page.app]))
    answer = tab.goto(url)
    assert answer is not None and answer.status == 200, f"{url}: HTTP {answer and answer.status}"
    look_at(tab, url, page.app, role, page.name)


def refusals() -> list[tuple[ConsolePage, str]]:
    """For each role, the first page of its app it may not see (its 403 page)."""
    found = []
    for app, roles in ROLES.items():
        for role in roles:
            refused = [
                p
                for p in PAGES
                if p.app == app and p.kind == HTML and p.allowed != PUBLIC and role not in p.allowed
            ]
            found += [(refused[0], role)] if refused else []
    return found


@pytest.mark.parametrize(
    ("page", "role"), refusals(), ids=[f"{p.app}:{r}:{p.name}" for p, r in refusals()]
)
def test_the_refusal_is_accessible_at_both_widths(
    world: World, tabs: Tabs, page: ConsolePage, role: str
) -> None:
    """The 403 page a role gets is a page like the others (kept as ``<page>-403``)."""
    tab = tabs.tab(page.app, role)
    url = world.url(page.app, page.path(world.params[page.app]))
    answer = tab.goto(url)
    assert answer is not None and answer.status == 403, f"{url}: HTTP {answer and answer.status}"
    look_at(tab, url, page.app, role, f"{page.name}-403")


def test_every_allowed_page_is_shown() -> None:
    """The cases above cover every HTML row of the table with every role it allows."""
    shown = {(p.route, r) for p, r in cases()}
    for page in PAGES:
        if page.kind == HTML and page.allowed != PUBLIC:
            assert {(page.route, r) for r in page.allowed} <= shown
    assert isinstance(SCREENSHOTS, Path)
