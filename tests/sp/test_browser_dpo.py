"""The DPO's new pages in a real headless Chromium: the privacy log on pseudonyms, the
who-looked lookup (GDPR art. 15) and the risk assessment (art. 6), axe-clean at 1280 and
375 px, usable on a phone."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from leerid.sp.kit.last_login import record_login
from leerid.sp.kit.login_claims import LoginAttributes
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.settings import load_settings
from leerid.store.engine import session_scope
from leerid.testing.protocol_confirmation import confirm_local_protocol
from leerid.testing.servers import free_port, serve_portal
from tests.axe import check_widths
from tests.conftest import BACKENDS
from tests.sp.conftest import PARTNER, write_config
from tests.sp.test_browser import PASSWORD, PHONE, no_horizontal_scroll, screenshot, staff_login
from tests.sp.test_dpo_pseudonyms import counsellor_and_dpo
from tests.test_page_words import check

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", [BACKENDS[-1]], indirect=True),
]
DAY = dt.date(2026, 1, 5)


def looked_at_pupil(provider: ServiceProvider) -> str:
    """A pupil whose file a member of staff opened and added to."""
    key = str(uuid.uuid4())
    login = LoginAttributes(
        account_uuid=str(uuid.uuid4()),
        leer_id_uuid=key,
        historiek_account_uuids=(),
        given_name="Zoë",
        family_name="Peeters",
        orgcodes=(PARTNER,),
    )
    with session_scope(provider.engine) as session:
        record_login(session, login, dt.datetime.now(dt.UTC))
    provider.view_pupil("clb.een", "toegangscontrole", key, "vraag van de school")
    provider.add_dossier_entry("clb.een", "toegangscontrole", key, "Gesprek")
    return key


def test_the_dpo_pages_are_accessible_and_show_no_key(
    browser: Browser, database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    config = write_config(tmp_path / "sp", database_url, public_url=f"http://127.0.0.1:{port}")
    provider = ServiceProvider(load_settings(config))
    confirm_local_protocol(provider)
    counsellor_and_dpo(provider)
    key = looked_at_pupil(provider)
    found: list[str] = []
    with serve_portal(provider, port) as url:
        page = browser.new_page()
        staff_login(page, url, "dpo.lars", PASSWORD)
        page.goto(f"{url}/personeel/privacylog")
        assert key not in page.content()
        check_widths(page, found)

        page.get_by_role("link", name="wie bekeek het dossier van een leerling").click()
        page.wait_for_url(f"{url}/personeel/privacylog/inzage")
        check_widths(page, found)
        page.get_by_label("Sleutel uit het inzageverzoek").fill("geen sleutel")
        page.get_by_role("button", name="Opzoeken").click()
        page.wait_for_load_state()
        assert page.get_by_role("alert").is_visible()
        check_widths(page, found)
        page.get_by_label("Sleutel uit het inzageverzoek").fill(key)
        page.get_by_role("button", name="Opzoeken").click()
        page.wait_for_load_state()
        result = page.get_by_role("region", name="keer bekeken")
        assert "clb.een" in result.inner_text() and "voegde een activiteit toe" in page.content()
        assert key not in page.content()
        check(page.url, page.content())
        check_widths(page, found)
        page.set_viewport_size(PHONE)
        screenshot(page, "inzage-375")
        assert no_horizontal_scroll(page)

        page.goto(f"{url}/personeel/bewijs")
        page.get_by_role("link", name="Risico's en maatregelen registreren").click()
        page.wait_for_url(f"{url}/personeel/bewijs/risico")
        check_widths(page, found)
        page.get_by_label("Risico", exact=True).fill("Inzage zonder reden")
        page.get_by_label("Maatregel (technisch, organisatorisch of juridisch)").fill(
            "Doel verplicht, privacylog"
        )
        page.get_by_label("Ingeschat op").fill("2026-03-01")
        page.get_by_label("Eigenaar").fill("DPO")
        page.get_by_role("button", name="Bewaren").click()
        page.wait_for_load_state()
        assert "Risico 1 bewaard" in page.content()
        check(page.url, page.content())
        check_widths(page, found)
        page.set_viewport_size(PHONE)
        assert no_horizontal_scroll(page)
        page.close()
    provider.engine.dispose()
    assert not found, "\n".join(found)
