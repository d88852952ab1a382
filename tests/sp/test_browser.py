"""The LARS portal in a real headless Chromium: a pupil on a phone, staff by role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from leerid.sp.staff import add_staff
from tests.conftest import BACKENDS
from tests.sp.lars_world import lars_world

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", [BACKENDS[-1]], indirect=True),
]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PHONE = {"width": 375, "height": 740}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def no_horizontal_scroll(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def test_pupil_on_a_phone_and_staff_by_role(
    browser: Browser, database_url: str, tmp_path: Path
) -> None:
    with lars_world(database_url, tmp_path) as lars:
        pupil = lars.idp.pupil
        page = browser.new_page(viewport=PHONE)
        page.goto(lars.url)
        page.keyboard.press("Tab")  # the first stop is the skip link
        assert page.evaluate("document.activeElement.textContent") == "Naar de inhoud"
        assert page.get_by_role("main").count() == 1
        page.get_by_role("link", name="Aanmelden met LeerID").click()
        page.fill("#username", pupil.username)
        page.fill("#password", pupil.password)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{lars.url}/mijn-gegevens")
        assert page.get_by_role("heading", level=1).inner_text() == "Mijn gegevens bij LARS"
        assert pupil.voornaam in page.get_by_role("main").inner_text()
        assert page.get_by_role("navigation", name="Hoofdmenu").count() == 1
        disclosures = page.get_by_role("list", name="Doorgiften, nieuwste eerst")
        assert "School (instellingsnummer)" in disclosures.inner_text()  # the disclosures
        assert no_horizontal_scroll(page)
        page.close()

        add_staff(
            lars.provider.engine, lars.provider.protocol, "dpo.lars", "een-lang-wachtwoord", "dpo"
        )
        staff = browser.new_page(viewport=PHONE)
        staff.goto(f"{lars.url}/personeel/aanmelden")
        staff.get_by_label("Gebruikersnaam").fill("dpo.lars")
        staff.get_by_label("Wachtwoord").fill("fout-wachtwoord-123")
        staff.get_by_role("button", name="Aanmelden").click()
        assert staff.get_by_role("alert").inner_text() == "Gebruikersnaam of wachtwoord klopt niet."
        staff.get_by_label("Wachtwoord").fill("een-lang-wachtwoord")
        staff.get_by_role("button", name="Aanmelden").click()
        staff.wait_for_url(f"{lars.url}/personeel")
        nav = staff.get_by_role("navigation", name="Hoofdmenu").inner_text()
        assert "Privacylog" in nav and "Leerlingen" not in nav  # art. 4: the DPO sees no pupils
        staff.get_by_role("link", name="Bewijs").first.click()
        assert staff.locator("#m-privacylog").count() == 1
        assert no_horizontal_scroll(staff)
        staff.get_by_role("link", name="Gegevenslekken").first.click()
        staff.get_by_label("Vastgesteld op (Belgische tijd)").fill("2026-11-27T10:00")
        staff.get_by_label("Wat is er gebeurd").fill("USB-stick verloren")
        staff.get_by_label("Categorieën van gegevens").fill("naam")
        staff.get_by_label("Aantal betrokken leerlingen").fill("4")
        staff.get_by_label("Genomen maatregelen").fill("Melding bij de politie")
        staff.get_by_role("button", name="Registreren").click()
        assert staff.get_by_role("heading", name="Lek 1 — open").count() == 1
        assert "USB-stick verloren" in staff.get_by_role("main").inner_text()
        staff.close()
