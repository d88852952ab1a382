"""Need-to-know and staff management in a real Chromium: the search, a pupil's page, the
staff management page and the art. 6 gate, axe-clean at desktop and phone width."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.settings import load_settings
from leerid.sp.kit.staff import add_staff
from leerid.store.engine import dispose_engines
from leerid.testing.protocol_confirmation import confirm_local_protocol
from leerid.testing.servers import free_port, serve_portal
from tests.axe import check_widths
from tests.conftest import BACKENDS
from tests.sp.conftest import add_bound_staff
from tests.sp.test_browser import PASSWORD, no_horizontal_scroll, screenshot, staff_login
from tests.sp.test_need_to_know import SCHOOLS, hold, profiled_config

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", [BACKENDS[-1]], indirect=True),
]


def search_and_open(page: Page, url: str, found: list[str]) -> None:
    """The onthaal's search by a name without its accent, then the pupil's page."""
    page.goto(f"{url}/personeel/leerlingen")
    check_widths(page, found)  # the search page with every pupil of the scope
    page.get_by_label("Naam of voornaam (een deel volstaat)").fill("celine")
    page.get_by_role("button", name="Zoeken").click()
    page.wait_for_load_state()
    main = page.get_by_role("main").inner_text()
    assert "Céline" in main and "Bram" not in main and "Buiten" not in main
    assert "Leerlingensleutel" not in main  # not in the onthaal's profile
    check_widths(page, found)  # the search's answer
    page.get_by_label("Doel").first.fill("vraag van de school")
    page.get_by_role("button", name="Openen").first.click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Leerling"
    assert "Céline" in page.get_by_role("main").inner_text()
    assert no_horizontal_scroll(page)
    screenshot(page, "leerling-onthaal")
    check_widths(page, found)  # the pupil's page, the profile's attributes only


def manage_staff(page: Page, url: str, found: list[str]) -> None:
    """The DPO adds a member of staff with a profile, schools and the art. 6 dates."""
    page.goto(f"{url}/personeel/medewerkers")
    check_widths(page, found)
    page.get_by_label("Gebruikersnaam", exact=True).fill("tina")
    page.get_by_label("Eerste wachtwoord (minstens 12 tekens)").fill(PASSWORD)
    page.locator("#n-functie").select_option(label="Trajectbegeleider")
    page.get_by_label("Scholen (instellingsnummers, gescheiden door komma's)").fill(SCHOOLS[0])
    page.get_by_role("button", name="Toevoegen").click()
    page.wait_for_load_state()
    assert "Medewerker tina toegevoegd" in page.get_by_role("status").first.inner_text()
    screenshot(page, "medewerkers")
    check_widths(page, found)  # with the notice and the new account


def test_search_pupil_staff_management_and_the_gate_in_chromium(
    browser: Browser, database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    config = profiled_config(
        tmp_path / "sp", database_url, public_url=f"http://127.0.0.1:{port}", poll_interval=0
    )
    provider = ServiceProvider(load_settings(config))
    confirm_local_protocol(provider)
    hold(provider, SCHOOLS[:1], given="Céline", family="Van den Broeck")
    hold(provider, SCHOOLS[:1], given="Bram", family="Peeters")
    hold(provider, SCHOOLS[2:3], given="Anouk", family="Buiten")
    add_bound_staff(provider, "onthaal.een", PASSWORD, schools=SCHOOLS[:1], profile="onthaal")
    add_staff(provider.engine, provider.protocol, "dpo.lars", PASSWORD, "dpo")
    add_staff(
        provider.engine, provider.protocol, "nieuw", PASSWORD, "toegangscontrole", schools=SCHOOLS
    )
    found: list[str] = []
    with serve_portal(provider, port) as url:
        onthaal = browser.new_context().new_page()
        staff_login(onthaal, url, "onthaal.een", PASSWORD)
        search_and_open(onthaal, url, found)
        onthaal.context.close()

        dpo = browser.new_context().new_page()
        staff_login(dpo, url, "dpo.lars", PASSWORD)
        manage_staff(dpo, url, found)
        dpo.context.close()

        unbound = browser.new_context().new_page()
        staff_login(unbound, url, "nieuw", PASSWORD)
        assert "vertrouwelijkheidsverklaring" in unbound.get_by_role("main").inner_text()
        check_widths(unbound, found)  # the home page says what is missing
        answer = unbound.goto(f"{url}/personeel/leerlingen")
        assert answer is not None and answer.status == 403
        assert "Nog geen toegang" in unbound.get_by_role("heading", level=1).inner_text()
        check_widths(unbound, found)  # the gate page
        unbound.context.close()
    provider.engine.dispose()
    dispose_engines()
    assert found == []
