"""``/op/v1/mijn-gegevens`` in a real headless Chromium: log in, see the disclosures of two
services and of a temporary account, report an error; axe-core clean at 1280 and 375 px."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from leerid.idp.store.quality_reports import list_reports
from leerid.store.engine import make_engine
from tests.axe import check_widths
from tests.conftest import BACKENDS
from tests.reports.helpers import changes
from tests.reports.pupil_world import PupilWorld, pupil_world, sign_in_on_page
from tests.test_page_words import FORBIDDEN

# The page does not depend on the backend: one run, on PostgreSQL when it is configured.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", [BACKENDS[-1]], indirect=True),
]


@pytest.fixture
def world(database_url: str) -> Iterator[PupilWorld]:
    with pupil_world(database_url) as built:
        yield built


def test_the_pupil_logs_in_sees_and_reports_in_a_browser(
    browser: Browser, world: PupilWorld
) -> None:
    page = browser.new_page()
    found: list[str] = []
    page.goto(f"{world.idp.issuer}/v1/mijn-gegevens")
    assert page.get_by_role("heading", level=1).inner_text() == "Aanmelden met LeerID"
    check_widths(page, found)
    sign_in_on_page(page, world)
    services = page.locator(".disclosures h3").all_inner_texts()
    assert sorted(services) == ["LARS (test)", "Rekenplatform"]  # temporary account included
    visible = page.locator("main").inner_text()
    assert not [word for word in FORBIDDEN if word in visible]  # plain Dutch, no code words
    check_widths(page, found)

    page.get_by_role("button", name="Melding versturen").click()  # nothing filled in
    page.wait_for_load_state()
    assert "Kijk je melding na" in page.get_by_role("alert").inner_text()
    check_widths(page, found)

    page.get_by_label("Welk gegeven klopt niet?").select_option("ov_leerid_uuid")
    page.get_by_label("Wat is er mis?").select_option("foutief")
    page.get_by_label("Wat moet het zijn?").fill("Dat nummer is niet van mij")
    page.get_by_role("button", name="Melding versturen").click()
    page.wait_for_load_state()
    status = page.get_by_role("status").inner_text()
    (stored,) = list_reports(make_engine(world.idp.database_url), source="pupil")
    assert "Bedankt" in status and stored.code in status
    check_widths(page, found)
    assert found == [], "\n".join(found)
    # the report is at DOV, and a change went to the one client that holds that data
    assert [c["client_id"] for c in changes(world.idp.database_url, "quality-report")] == [
        world.other_id
    ]
    page.close()
