"""The consoles' main tasks with the keyboard only (Tab, Enter, Space and typing) in Chromium,
the focus visible at every stop (WCAG 2.1.1, 2.4.7)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.consoles.keys import fill, press_on, start, tab_to, type_moment
from tests.consoles.world import LOGIN, World

pytestmark = [pytest.mark.browser, pytest.mark.live]


@pytest.fixture
def tab(browser: Browser) -> Iterator[Page]:
    """A fresh tab (its own cookies)."""
    context = browser.new_context(timezone_id="Europe/Brussels")
    yield context.new_page()
    context.close()


def keyboard_login(tab: Page, world: World, app: str, role: str) -> None:
    account = world.account(app, role)
    start(tab, world.url(app, LOGIN[app]))
    fill(tab, "Gebruikersnaam", account.username)
    fill(tab, "Wachtwoord", account.password)
    with tab.expect_navigation():
        tab.keyboard.press("Enter")
    assert not tab.url.endswith(LOGIN[app]), f"{account.username} was not logged in"


def test_lars_dpo_filters_the_privacy_log_and_opens_who_looked(tab: Page, world: World) -> None:
    """Art. 6, GDPR art. 15: the log filtered on a pupil and a member of staff, then "who
    looked" from a line of it; the pupil only under a pseudonym (art. 4)."""
    keyboard_login(tab, world, "lars", "dpo")
    press_on(tab, "Privacylog", tag="a")
    assert tab.url.endswith("/personeel/privacylog")
    fill(tab, "Leerling: pseudoniem of leerlingensleutel", world.pupil_key)
    fill(tab, "Medewerker", "toegang.lars")
    press_on(tab, "Filteren", tag="button")
    rows = tab.get_by_role("region", name="die aan de filter voldoen").inner_text()
    assert "Leerling bekeken" in rows and "dpo.lars" not in rows
    tab_to(tab, "wie bekeek het dossier", tag="a")  # the form's link, above the lines
    press_on(tab, "wie bekeek", tag="button")  # the first line's (a POST: it is logged)
    assert tab.url.endswith("/personeel/privacylog/inzage")
    result = tab.get_by_role("region", name="keer bekeken")
    assert "toegang.lars" in result.inner_text()
    assert world.pupil_key not in tab.content()


def test_lars_dpo_looks_up_an_access_request(tab: Page, world: World) -> None:
    """GDPR art. 15: the key from a pupil's request typed in the "who looked" form."""
    keyboard_login(tab, world, "lars", "dpo")
    press_on(tab, "Privacylog", tag="a")
    press_on(tab, "wie bekeek het dossier van een leerling", tag="a")
    assert tab.url.endswith("/personeel/privacylog/inzage")
    fill(tab, "Sleutel uit het inzageverzoek", world.pupil_key)
    press_on(tab, "Opzoeken", "Space", tag="button")
    result = tab.get_by_role("region", name="keer bekeken")
    assert "toegang.lars" in result.inner_text()
    assert world.pupil_key not in tab.content()


def test_lars_dpo_registers_a_breach_and_the_authority_notified(tab: Page, world: World) -> None:
    """Art. 9, GDPR art. 33: a breach registered from the form, then the supervisory
    authority's reference recorded on it, by keyboard."""
    keyboard_login(tab, world, "lars", "dpo")
    press_on(tab, "Gegevenslekken", tag="a")
    assert tab.url.endswith("/personeel/datalekken")
    type_moment(tab, "Vastgesteld op", dt.datetime(2026, 11, 27, 10, 0))
    fill(tab, "Wat is er gebeurd", "Laptop gestolen")
    fill(tab, "Categorieën van gegevens", "naam")
    fill(tab, "Aantal betrokken leerlingen", "2")
    fill(tab, "Genomen maatregelen", "Wachtwoorden vervangen")
    press_on(tab, "Registreren en de DPO", tag="button")
    newest = tab.locator("section.card").first
    assert "Laptop gestolen" in newest.inner_text()
    assert "27-11-2026 10:00" in newest.inner_text()  # as typed, in Belgian time
    fill(tab, "Geïnformeerd: referentie van de GBA", "GBA-2026-0042")  # the first: the newest
    press_on(tab, "Bijwerken en melden", tag="button")
    newest = tab.locator("section.card").first
    assert "Laptop gestolen" in newest.inner_text()
    assert "referentie GBA-2026-0042" in newest.inner_text()


def test_dov_operator_searches_a_pupil(tab: Page, world: World) -> None:
    """Art. 6: the operator's search of the registry, with its purpose (a logged act)."""
    keyboard_login(tab, world, "dov", "operator")
    press_on(tab, "Register", tag="a")
    press_on(tab, "Een leerling opzoeken", tag="a")
    assert tab.url.endswith("/beheer/register/zoeken")
    fill(tab, "Referte, INSZ of familienaam", world.referte)  # "Referte" is checked
    fill(tab, "Doel van de opzoeking", "vraag van een school over een dubbel account")
    press_on(tab, "Opzoeken", tag="button")
    found = tab.get_by_role("main").inner_text()
    assert "1 leerling gevonden" in found and "Mira Claes" in found


def test_dov_dpo_registers_a_breach(tab: Page, world: World) -> None:
    """Art. 9: DOV's DPO registers a breach naming the recipient concerned."""
    keyboard_login(tab, world, "dov", "dpo")
    press_on(tab, "Datalekken", tag="a")
    assert tab.url.endswith("/beheer/datalekken")
    type_moment(tab, "Vastgesteld op", dt.datetime(2026, 11, 28, 9, 30))
    fill(tab, "Wat is er gebeurd", "Lijst met accounts naar de verkeerde school")
    fill(tab, "Categorieën van gegevens", "naam, accountnummer")
    fill(tab, "Aantal betrokken leerlingen", "31")
    fill(tab, "Genomen maatregelen", "School gevraagd de lijst te wissen")
    tab_to(tab, "LARS", tag="input")
    tab.keyboard.press("Space")
    assert tab.evaluate("document.activeElement.checked")
    press_on(tab, "Registreren en de DPO", tag="button")
    main = tab.get_by_role("main").inner_text()
    assert "Lijst met accounts naar de verkeerde school" in main and "2026-11-28 09:30" in main, (
        main
    )


def test_dov_operator_filters_disclosures_and_downloads_the_csv(tab: Page, world: World) -> None:
    """The disclosures of one client (a choice typed into the list) and their CSV."""
    keyboard_login(tab, world, "dov", "operator")
    press_on(tab, "Verstrekkingen", tag="a")
    assert tab.url.endswith("/beheer/verstrekkingen")
    tab_to(tab, "Klant", tag="select")
    tab.keyboard.type("LARS")
    press_on(tab, "Toon", tag="button")
    assert f"klant={world.lars.idp.client_id}" in tab.url
    tab_to(tab, "De tellingen per dag en per klant (CSV)", tag="a")
    with tab.expect_download() as download:
        tab.keyboard.press("Enter")
    path = download.value.path()
    text = Path(path).read_text(encoding="utf-8") if path else ""
    assert download.value.suggested_filename.endswith(".csv") and text.count("\n") >= 1
