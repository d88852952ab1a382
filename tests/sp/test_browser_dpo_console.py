"""The DPO's console in a real headless Chromium (issue 13 point 2 and 4): the home page with
what needs attention, the privacy log filtered and paged by keyboard, "wie bekeek" from a
log line, the chart with its table, the staff list filtered; axe-clean at every width and
no sideways scrolling at 375 px."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from leerid.sp.kit import privacy_log
from tests.axe import check_widths
from tests.conftest import BACKENDS
from tests.sp.test_browser import PASSWORD, PHONE, no_horizontal_scroll, screenshot, staff_login
from tests.sp.test_dpo_console import PUPIL_A, console_world
from tests.test_page_words import check

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", [BACKENDS[-1]], indirect=True),
]


def looked_at(page: Page, found: list[str], name: str) -> None:
    """Axe at every width, the words of the page, a screenshot and no sideways scroll."""
    check(page.url, page.content())
    check_widths(page, found)
    page.set_viewport_size(PHONE)
    screenshot(page, name)
    assert no_horizontal_scroll(page), page.url


def test_the_dpo_console_by_keyboard(browser: Browser, database_url: str, tmp_path: Path) -> None:
    found: list[str] = []
    with console_world(database_url, tmp_path) as (provider, url):
        name = privacy_log.pseudonym(provider.secrets, PUPIL_A)
        page = browser.new_page()
        staff_login(page, url, "dpo.lars", PASSWORD)
        page.goto(f"{url}/personeel")
        assert page.get_by_role("heading", name="Wat aandacht vraagt").is_visible()
        looked_at(page, found, "dpo-home")

        page.goto(f"{url}/personeel/privacylog")
        page.get_by_label("Leerling: pseudoniem of leerlingensleutel").fill(PUPIL_A)
        page.get_by_label("Actie").select_option(label="Leerling bekeken")
        page.get_by_role("button", name="Filteren").focus()
        page.keyboard.press("Enter")
        page.wait_for_url(f"**leerling={name}*")
        assert name in page.url and PUPIL_A not in page.content()
        looked_at(page, found, "privacylog-filtered")
        page.get_by_role("link", name="volgende (oudere items)").focus()
        page.keyboard.press("Enter")
        page.wait_for_url("**na=*")
        assert page.get_by_role("link", name="vorige (nieuwere items)").is_visible()
        looked_at(page, found, "privacylog-page-2")

        with page.expect_download() as download:  # a POST with the filters, still a file
            page.get_by_role("button", name="Deze items als CSV-bestand").click()
        assert download.value.suggested_filename.startswith("privacylog-")
        assert name in Path(download.value.path()).read_text(encoding="utf-8")

        with page.expect_navigation():
            page.get_by_role("button", name=f"wie bekeek {name[:8]}").first.click()
        assert page.url.endswith("/personeel/privacylog/inzage")
        assert "keer bekeken of aangevuld" in page.content()
        looked_at(page, found, "privacylog-who-looked")

        page.goto(f"{url}/personeel/privacylog?van=morgen")
        assert page.get_by_role("alert").inner_text().startswith("Van:")
        looked_at(page, found, "privacylog-400")

        page.goto(f"{url}/personeel/privacylog/grafiek")
        page.get_by_label("Van (Belgische dag)").fill("2026-03-01")
        page.get_by_label("Tot en met (hoogstens 366 dagen)").fill("2026-03-31")
        page.get_by_role("button", name="Tonen").click()
        page.wait_for_url("**van=2026-03-01*")
        assert page.get_by_role("img").count() >= 1 and page.locator("table").count() == 1
        looked_at(page, found, "privacylog-chart")

        page.goto(f"{url}/personeel/medewerkers?toon=zonder-datums")
        assert page.get_by_role("heading", name="clb.twee").is_visible()
        looked_at(page, found, "staff-filtered")
        page.close()
    assert not found, "\n".join(found)
