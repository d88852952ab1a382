"""The LARS portal in a real headless Chromium: a pupil on a phone, staff by role."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from leerid.sp.kit.staff import add_staff
from tests.axe import check_widths
from tests.conftest import BACKENDS, run_leerid
from tests.sp.conftest import add_bound_staff
from tests.sp.lars_world import lars_world, move_to_school
from tests.test_page_words import check

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", [BACKENDS[-1]], indirect=True),
]
PHONE = {"width": 375, "height": 740}


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
        logins = page.get_by_role("list", name="Je aanmeldingen, de nieuwste eerst")
        assert "het nummer van je school" in logins.inner_text()  # the disclosures
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
        record_breach(staff)
        assert staff.get_by_role("heading", name="Lek 1 — open").count() == 1
        assert "USB-stick verloren" in staff.get_by_role("main").inner_text()
        staff.close()


def test_every_page_of_lars_has_no_axe_violations_at_desktop_and_phone_width(
    browser: Browser, database_url: str, tmp_path: Path
) -> None:
    """axe-core, injected by Playwright, on every page a pupil or staff member can reach."""
    found: list[str] = []
    with lars_world(database_url, tmp_path) as lars:
        pupil = lars.idp.pupil
        context = browser.new_context()
        page = context.new_page()
        page.goto(lars.url)
        check_widths(page, found)  # home
        page.goto(f"{lars.url}/callback?code=x&state=y")
        check_widths(page, found)  # a message page
        page.goto(f"{lars.url}/aanmelden")
        page.fill("#username", pupil.username)
        page.fill("#password", pupil.password)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{lars.url}/mijn-gegevens")
        check_widths(page, found)  # the pupil's own data
        context.close()
        move_to_school(database_url, pupil, "999999")  # no longer at a partner school
        refused = browser.new_context().new_page()
        refused.goto(f"{lars.url}/aanmelden")
        refused.fill("#username", pupil.username)
        refused.fill("#password", pupil.password)
        refused.keyboard.press("Enter")
        refused.wait_for_url(f"{lars.url}/**")
        assert refused.get_by_role("heading", level=1).count() == 1
        check_widths(refused, found)  # refused at the enrolment gate
        refused.context.close()

        add_bound_staff(lars.provider, "toegang.lars", PASSWORD)  # art. 4, 6
        add_staff(lars.provider.engine, lars.provider.protocol, "dpo.lars", PASSWORD, "dpo")
        staff = browser.new_context().new_page()
        staff.goto(f"{lars.url}/personeel/aanmelden")
        check_widths(staff, found)
        staff_login(staff, lars.url, "toegang.lars", "fout-wachtwoord-123")
        check_widths(staff, found)  # the login with its error
        staff_login(staff, lars.url, "toegang.lars", PASSWORD)
        check_widths(staff, found)  # staff home
        staff.goto(f"{lars.url}/personeel/leerlingen")
        check_widths(staff, found)
        staff.get_by_label("Doel").first.fill("toegangsvraag van de leerling")
        staff.get_by_role("button", name="Openen").first.click()
        staff.wait_for_load_state()
        assert staff.get_by_role("heading", level=1).count() == 1
        check_widths(staff, found)  # one pupil, opened with a purpose
        staff.context.close()

        dpo = browser.new_context().new_page()
        staff_login(dpo, lars.url, "dpo.lars", PASSWORD)
        for path in ("privacylog", "meldingen", "datalekken", "bewijs"):
            dpo.goto(f"{lars.url}/personeel/{path}")
            check_widths(dpo, found)
        dpo.goto(f"{lars.url}/personeel/datalekken")
        record_breach(dpo)
        check_widths(dpo, found)  # a breach with its clock and update form
        dpo.context.close()
    assert found == []


def test_the_privacy_log_and_the_pupil_list_are_usable_on_a_phone(
    browser: Browser, database_url: str, tmp_path: Path
) -> None:
    """Issue 8: the log's scroll region takes keyboard focus; "Openen" is on screen at 375 px."""
    with lars_world(database_url, tmp_path) as lars:
        pupil = lars.idp.pupil
        pupil_page = browser.new_page()
        pupil_page.goto(f"{lars.url}/aanmelden")
        pupil_page.fill("#username", pupil.username)
        pupil_page.fill("#password", pupil.password)
        pupil_page.keyboard.press("Enter")
        pupil_page.wait_for_url(f"{lars.url}/mijn-gegevens")
        pupil_page.close()
        add_bound_staff(lars.provider, "toegang.lars", PASSWORD)  # art. 4, 6
        add_staff(lars.provider.engine, lars.provider.protocol, "dpo.lars", PASSWORD, "dpo")

        staff = browser.new_page(viewport=PHONE)
        staff_login(staff, lars.url, "toegang.lars", PASSWORD)
        staff.goto(f"{lars.url}/personeel/leerlingen")
        screenshot(staff, "leerlingen-375")
        button = staff.get_by_role("button", name="Openen").first
        purpose = staff.get_by_label("Doel").first
        for control in (button, purpose):
            box = control.bounding_box()
            assert box is not None
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        assert no_horizontal_scroll(staff)
        purpose.fill("toegangsvraag van de leerling")
        button.click()
        staff.wait_for_load_state()
        staff.close()

        dpo = browser.new_page(viewport=PHONE)
        staff_login(dpo, lars.url, "dpo.lars", PASSWORD)
        dpo.goto(f"{lars.url}/personeel/privacylog")
        screenshot(dpo, "privacylog-375")
        assert no_horizontal_scroll(dpo)
        for region in dpo.locator(".table-scroll").all():
            assert region.get_attribute("tabindex") == "0"  # axe: scrollable-region-focusable
            assert region.get_attribute("role") == "region"
            assert region.get_attribute("aria-label") or region.get_attribute("aria-labelledby")
        dpo.close()


PASSWORD = "een-lang-wachtwoord"


def screenshot(page: Page, name: str) -> None:
    """With LEERID_SCREENSHOTS=DIR, keep a full-page PNG to look at."""
    folder = os.environ.get("LEERID_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def staff_login(page: Page, url: str, username: str, password: str) -> None:
    if not page.url.endswith("/personeel/aanmelden"):
        page.goto(f"{url}/personeel/aanmelden")
    page.get_by_label("Gebruikersnaam").fill(username)
    page.get_by_label("Wachtwoord").fill(password)
    page.get_by_role("button", name="Aanmelden").click()
    page.wait_for_load_state()


def record_breach(page: Page) -> None:
    """Fill in and send the breach form (art. 9) on the breaches page."""
    page.get_by_label("Vastgesteld op (Belgische tijd)").fill("2026-11-27T10:00")
    page.get_by_label("Wat is er gebeurd").fill("USB-stick verloren")
    page.get_by_label("Categorieën van gegevens").fill("naam")
    page.get_by_label("Aantal betrokken leerlingen").fill("4")
    page.get_by_label("Genomen maatregelen").fill("Melding bij de politie")
    page.get_by_role("button", name="Registreren").click()
    page.wait_for_load_state()


def test_the_protocol_refusal_and_banner_have_no_axe_violations(
    browser: Browser, database_url: str, tmp_path: Path, leerid_env: dict[str, str]
) -> None:
    """Art. 8: after DOV's termination, the pupil's refusal page, the staff banner and the
    staff refusal, at desktop and phone width, in plain Dutch."""
    found: list[str] = []
    with lars_world(database_url, tmp_path, poll_interval=1) as lars:
        first = browser.new_context().new_page()
        first.goto(f"{lars.url}/aanmelden")  # one sync first: the version in force arrives
        first.wait_for_selector("#username")
        first.context.close()
        done = run_leerid(
            [
                *("protocol", "terminate", "dov-lars-glce-2024"),
                *("--reason", "Art. 4 geschonden", "--operator", "dpo-dov"),
            ],
            leerid_env,
        )
        assert done.returncode == 0, done.stderr
        page = browser.new_context().new_page()
        for _ in range(50):  # within one poll interval (1 s) and a little
            response = page.goto(f"{lars.url}/aanmelden")
            # LARS's own refusal, not DOV's (a login LARS still lets through meets DOV's 403)
            if response is not None and response.status == 403 and page.url.startswith(lars.url):
                break
            page.wait_for_timeout(100)
        assert "Art. 4 geschonden" in page.get_by_role("main").inner_text()
        check("refused after the end", page.content())
        check_widths(page, found)  # the pupil's refusal page
        page.context.close()
        add_bound_staff(lars.provider, "toegang.lars", PASSWORD)  # art. 4, 6
        staff = browser.new_context().new_page()
        staff_login(staff, lars.url, "toegang.lars", PASSWORD)
        assert "Art. 4 geschonden" in staff.get_by_role("main").inner_text()
        check("staff home after the end", staff.content())
        check_widths(staff, found)  # staff home with the banner
        staff.goto(f"{lars.url}/personeel/leerlingen")
        check_widths(staff, found)  # no access to pupils' data
        staff.context.close()
    assert found == []
