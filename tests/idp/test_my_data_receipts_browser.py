"""Issue 12 §5 in a real headless Chromium: the pupil logs in at LeerID, sees each release
with its "bewijs", downloads one (a Playwright download), and the command the page shows
(``leerid log check-receipt`` with DOV's key pinned, as a pupil copies it) says it is
valid; a tampered copy is refused. The protocol link opens the version's text. axe-core
finds nothing at 1280 and 375 px, and nothing scrolls sideways on a phone. With
``LEERID_SCREENSHOTS=DIR`` the pages are kept as PNGs."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.axe import check_widths
from tests.conftest import BACKENDS, run_leerid
from tests.idp.test_my_data_receipts import HELD_BACK, cli_env, leerid
from tests.reports.pupil_world import PupilWorld, pupil_world, sign_in_on_page
from tests.sp.test_browser import PHONE, no_horizontal_scroll, screenshot
from tests.test_page_words import FORBIDDEN

# The page does not depend on the backend: one run, on PostgreSQL when it is configured.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", [BACKENDS[-1]], indirect=True),
]


@pytest.fixture
def world(database_url: str) -> Iterator[PupilWorld]:
    with pupil_world(database_url, HELD_BACK) as built:
        yield built


def fits_a_phone(page: Page) -> bool:
    page.set_viewport_size(PHONE)
    fits = no_horizontal_scroll(page)
    page.set_viewport_size({"width": 1280, "height": 800})
    return fits


def test_the_pupil_downloads_a_bewijs_and_checks_it(
    browser: Browser, world: PupilWorld, tmp_path: Path
) -> None:
    env = cli_env(world, tmp_path)
    page = browser.new_page(accept_downloads=True)
    found: list[str] = []
    page.goto(f"{world.idp.issuer}/v1/mijn-gegevens")
    sign_in_on_page(page, world)
    proofs = page.locator(".disclosures .proof").all_inner_texts()
    assert [p.strip() for p in proofs] == [
        "Het bewijs is over enkele seconden klaar. Laad de pagina straks opnieuw."
    ] * 2
    check_widths(page, found)
    screenshot(page, "mijn-gegevens-bewijs-wacht")

    leerid(["log", "integrate"], env)
    page.reload()
    links = page.get_by_role("link", name=re.compile(r"^Bewijs downloaden van "))
    assert links.count() == 2
    assert page.get_by_role("heading", name="Wat is een bewijs?").is_visible()
    command = page.locator("#proof ~ p code", has_text="check-receipt").inner_text()
    key = leerid(["log", "key"], env).strip()
    assert command == f"leerid log check-receipt bewijs.json --key '{key}'"  # pinned, to copy
    visible = page.locator("main").inner_text()
    assert not [word for word in FORBIDDEN if word in visible]
    assert fits_a_phone(page)
    check_widths(page, found)
    screenshot(page, "mijn-gegevens-bewijs")

    link = page.get_by_role("link", name=re.compile(r"^Bewijs downloaden van Rekenplatform, "))
    with page.expect_download() as started:
        link.click()
    download = started.value
    assert re.fullmatch(
        r"bewijs-\d{4}-\d{2}-\d{2}-rekenplatform\.json", download.suggested_filename
    )
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    copied = [str(saved) if arg == "bewijs.json" else arg for arg in shlex.split(command)]
    checked = leerid(copied[1:], env)  # the page's command, as a pupil pastes it
    assert "this receipt is valid" in checked and "Rekenplatform" not in saved.read_text()
    receipt = json.loads(saved.read_text(encoding="utf-8"))
    receipt["checkpoint"] = receipt["checkpoint"].replace("\n\n", "\n\n\n", 1)
    saved.write_text(json.dumps(receipt), encoding="utf-8")
    refused = run_leerid(["log", "check-receipt", str(saved), "--key", key], env)
    assert refused.returncode == 1 and "does NOT prove the entry" in refused.stderr

    page.get_by_role("link", name=re.compile(r"lees wat er in die afspraak staat$")).first.click()
    page.wait_for_load_state()
    assert page.url.endswith(f"/v1/protocollen/{world.idp.seed.protocol_id}/1")
    assert page.get_by_role("heading", name=re.compile(r"^Artikel 3: ")).is_visible()
    assert fits_a_phone(page)
    check_widths(page, found)
    screenshot(page, "protocol-tekst")
    assert found == [], "\n".join(found)
    page.close()
