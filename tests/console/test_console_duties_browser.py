"""DOV's duty pages in Chromium (issue 13): axe-core at desktop and phone width for each role
that may open them, a screenshot of each, and the DPO's main task, recording a breach and
the authority's answer, with the keyboard only."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pytest

from leerid.duties.breach_clock import BRUSSELS
from tests.axe import check_widths
from tests.conftest import BACKENDS
from tests.console.conftest import DPO, OPERATOR, PASSWORD, ConsoleSite
from tests.sp.test_browser import screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

PAGES = {
    OPERATOR: ("meldingen", "kennisgevingen", "bewijs"),
    DPO: ("meldingen", "kennisgevingen", "datalekken", "bewijs"),
}

# the pages render the same on both backends (the HTTP tests run on both): one is enough in Chromium
pytestmark = [pytest.mark.parametrize("module_database_url", [BACKENDS[-1]], indirect=True)]


def _login(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/beheer/aanmelden")
    page.get_by_label("Gebruikersnaam").fill(username)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Aanmelden").click()
    page.wait_for_url(f"{base}/beheer")


def _type_into(page: Page, label: str, text: str) -> None:
    """Tab to the field named ``label`` (never a click), then type."""
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.labels?.[0]?.textContent ?? ''") == label:
            page.keyboard.type(text)
            return
    raise AssertionError(f"the keyboard never reached {label!r}")


def test_the_duty_pages_have_no_axe_violations(browser: Browser, site: ConsoleSite) -> None:
    found: list[str] = []
    for username, pages in PAGES.items():
        page = browser.new_context().new_page()
        _login(page, site.base, username)
        for name in pages:
            page.goto(f"{site.base}/beheer/{name}")
            assert page.get_by_role("heading", level=1).count() == 1
            check_widths(page, found)
            screenshot(page, f"beheer-{name}-{username}")
        page.context.close()
    assert found == []


def test_the_dpo_records_a_breach_with_the_keyboard_only(
    browser: Browser, site: ConsoleSite
) -> None:
    """Art. 9: register, then the authority's reference, without a mouse."""
    page = browser.new_context().new_page()
    _login(page, site.base, DPO)
    page.goto(f"{site.base}/beheer/datalekken")
    found = dt.datetime.now(BRUSSELS) - dt.timedelta(hours=3)
    # a date-time control types per locale: its value is set, the rest goes by keyboard
    page.get_by_label("Vastgesteld op (Belgische tijd)").fill(found.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Vastgesteld op (Belgische tijd)").focus()
    _type_into(page, "Wat is er gebeurd", "Exportbestand gedeeld")
    _type_into(page, "Categorieën van gegevens", "naam")
    _type_into(page, "Aantal betrokken leerlingen", "5")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # submits the form
    shown = page.content()
    assert "Exportbestand gedeeld" in shown
    found_axe: list[str] = []
    check_widths(page, found_axe)  # the breach, its clocks and (on failure) the mail warning
    assert found_axe == []
    screenshot(page, "beheer-datalekken-lek")
    page.get_by_text("bijwerken").first.focus()
    page.keyboard.press("Enter")  # opens the <details>
    _type_into(page, "Geïnformeerd: referentie van de GBA", "GBA-2026-1")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "referentie GBA-2026-1" in page.content()
    page.context.close()
