"""The disclosures and logins pages in a real headless Chromium: axe-clean at 1280 and 375 px,
no sideways scrolling of the page on a phone, the filter used with the keyboard only."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.axe import check_widths
from tests.conftest import BACKENDS
from tests.console.conftest import DPO, OPERATOR, PASSWORD, ConsoleSite
from tests.console.test_console_disclosures import seeded  # noqa: F401 (a fixture)
from tests.sp.test_browser import PHONE, no_horizontal_scroll, screenshot

# the pages render the same on both backends (the HTTP tests run on both): one is enough in Chromium
pytestmark = [
    pytest.mark.parametrize("module_database_url", [BACKENDS[-1]], indirect=True),
    pytest.mark.browser,
]


@pytest.mark.parametrize("who", [OPERATOR, DPO])
def test_the_chart_pages_are_accessible_on_a_phone(
    browser: Browser,
    site: ConsoleSite,
    seeded: dict[str, str],  # noqa: F811
    who: str,
) -> None:
    page = browser.new_page(viewport=PHONE)
    page.goto(f"{site.base}/beheer/aanmelden")
    page.get_by_label("Gebruikersnaam").fill(who)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Aanmelden").click()
    page.wait_for_url(f"{site.base}/beheer")
    found: list[str] = []

    page.get_by_role("navigation").get_by_role("link", name="Verstrekkingen").click()
    page.wait_for_url(f"{site.base}/beheer/verstrekkingen")
    assert page.get_by_role("img", name="Verstrekkingen per dag en per klant").is_visible()
    page.set_viewport_size(PHONE)
    assert no_horizontal_scroll(page)
    screenshot(page, f"console-verstrekkingen-{who}-375")
    check_widths(page, found)

    # keyboard only: choose a client in the filter and show
    page.get_by_label("Klant", exact=True).focus()
    page.keyboard.press("ArrowDown")
    for _ in range(15):  # protocol, van and tot (a stop per date part), uitkomst, the button
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Toon":
            break
    assert page.evaluate("document.activeElement.textContent") == "Toon"
    page.keyboard.press("Enter")
    page.wait_for_url("**/beheer/verstrekkingen?klant=*")
    check_widths(page, found)

    page.get_by_role("navigation").get_by_role("link", name="Aanmeldingen").click()
    page.wait_for_url(f"{site.base}/beheer/aanmeldingen")
    assert page.get_by_role("img", name="Aanmeldingen per uur").is_visible()
    assert page.get_by_role("img", name="Geweigerde aanmeldingen per dag en reden").is_visible()
    page.set_viewport_size(PHONE)
    assert no_horizontal_scroll(page)
    screenshot(page, f"console-aanmeldingen-{who}-375")
    check_widths(page, found)
    assert not found, "\n".join(found)
    page.close()
