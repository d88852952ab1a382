"""The pupil's own page in a real headless Chromium: axe-clean at desktop and phone width,
the report form and the downloads reached with the keyboard alone (GDPR art. 15, art. 7)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.axe import check_widths
from tests.conftest import BACKENDS
from tests.idp_server import SeededPupil
from tests.sp.lars_world import lars_world
from tests.sp.test_browser import PHONE, no_horizontal_scroll, screenshot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", [BACKENDS[-1]], indirect=True),
]
MOST_TABS = 40  # the page's focus stops before the form: links, copy folds, buttons


def log_in(page: Page, url: str, pupil: SeededPupil) -> None:
    """From the home page through LeerID's form to the pupil's page."""
    page.goto(url)
    page.get_by_role("link", name="Aanmelden met LeerID").click()
    for field, value in (("#username", pupil.username), ("#password", pupil.password)):
        page.locator(field).fill(value)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/mijn-gegevens")


def tab_to(page: Page, name: str) -> int:
    """Press Tab from the top of the page until the element with accessible ``name`` (a
    label's text or a button's) has the focus; the number of presses."""
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.evaluate("window.scrollTo(0, 0)")
    for presses in range(1, MOST_TABS + 1):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "(() => { const e = document.activeElement;"
            " if (e.labels && e.labels.length) return e.labels[0].textContent.trim();"
            " return e.textContent.trim(); })()"
        )
        if focused == name:
            return presses
    raise AssertionError(f"{name!r} is not reached with {MOST_TABS} presses of Tab")


def test_the_pupils_page_by_keyboard_and_without_axe_violations(
    browser: Browser, database_url: str, tmp_path: Path
) -> None:
    found: list[str] = []
    with lars_world(database_url, tmp_path) as lars:
        pupil = lars.idp.pupil
        context = browser.new_context(accept_downloads=True)
        page = context.new_page()
        log_in(page, lars.url, pupil)
        check_widths(page, found)  # the pupil's own page
        page.set_viewport_size(PHONE)
        assert no_horizontal_scroll(page)
        screenshot(page, "mijn-gegevens-375")
        headings = page.get_by_role("heading", level=2).all_inner_texts()
        assert headings[:2] == ["Elke keer dat je je aanmeldde", "Wat LARS nu over jou bewaart"]
        assert "Klopt er iets niet?" in headings and "Je gegevens downloaden" in headings

        # the downloads, by keyboard: a web page and a JSON file
        tab_to(page, "Download als webpagina")
        with page.expect_download() as html_download:
            page.keyboard.press("Enter")
        assert html_download.value.suggested_filename == "mijn-gegevens.html"
        saved = tmp_path / "mijn-gegevens.html"
        html_download.value.save_as(saved)
        tab_to(page, "Download als bestand voor computers (JSON)")
        with page.expect_download() as json_download:
            page.keyboard.press("Enter")
        assert json_download.value.suggested_filename == "mijn-gegevens.json"

        # the report of wrong data (art. 7), by keyboard: the first data item is chosen
        tab_to(page, "Schrijf wat er niet klopt")
        page.keyboard.type("Mijn voornaam is verkeerd geschreven.")
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        page.wait_for_load_state()
        assert page.get_by_role("heading", level=1).inner_text() == "Melding verstuurd"
        assert "DQ-" in page.get_by_role("main").inner_text()
        check_widths(page, found)  # the answer to the report

        # the downloaded page, opened as the file it is: the same checks
        offline = context.new_page()
        offline.goto(saved.as_uri())
        assert offline.get_by_role("heading", level=1).inner_text() == "Mijn gegevens bij LARS"
        assert pupil.voornaam in offline.get_by_role("main").inner_text()
        check_widths(offline, found)
        context.close()
    assert found == []
