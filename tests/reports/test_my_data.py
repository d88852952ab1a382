"""``/op/v1/mijn-gegevens``: the pupil's own page, over HTTP (both backends) — login, what
it shows, the report and every refusal (CSRF, no session, INSZ, empty, throttle)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from leerid.idp.store.quality_reports import list_reports
from leerid.idp.store.report_directions import FORWARDED_COMMENT, PUPIL_REPORTS_PER_HOUR
from leerid.store.engine import make_engine
from leerid.testing.browser import Browser
from tests.reports.helpers import changes
from tests.reports.pupil_world import PASSWORD, PupilWorld, pupil_world


@pytest.fixture
def world(database_url: str) -> Iterator[PupilWorld]:
    with pupil_world(database_url) as built:
        yield built


def logged_in(world: PupilWorld) -> tuple[Browser, httpx.Response]:
    browser = Browser()
    form = browser.open(f"{world.idp.issuer}/v1/mijn-gegevens")
    assert form.status_code == 200 and 'name="password"' in form.text
    assert form.headers["cache-control"] == "no-store"
    page = browser.follow(browser.submit(form, {"username": world.username, "password": PASSWORD}))
    assert page.status_code == 200 and "Wie kreeg jouw gegevens?" in page.text
    return browser, page


def report(browser: Browser, page: httpx.Response, **fields: str) -> httpx.Response:
    data = {"attribute": "ov_leerid_uuid", "problem": "foutief", "text": "Dat is niet mijn nummer"}
    return browser.submit(page, {**data, **fields})


def test_the_pupil_sees_every_disclosure_and_reports_to_the_right_client(
    world: PupilWorld,
) -> None:
    browser, page = logged_in(world)
    text = page.text
    assert "LARS (test)" in text and "Rekenplatform" in text  # the temporary account's too
    assert "Taalplatform" not in text
    assert "je LeerID-nummer" in text and "je achternaam" in text and " om " in text
    assert "versie 1" in text
    assert page.headers["cache-control"] == "no-store"
    done = report(browser, page)
    assert done.status_code == 303
    shown = browser.follow(done)
    (stored,) = list_reports(make_engine(world.idp.database_url), source="pupil")
    assert stored.code in shown.text and "Bedankt" in shown.text
    assert stored.pupil_key == world.leer_id_uuid and stored.comment == "Dat is niet mijn nummer"
    # art. 7: only the client that received the Leer_id_uuid (not the temporary account's)
    assert stored.forwarded_to == (world.other_id,)
    (change,) = changes(world.idp.database_url, "quality-report")
    assert change["client_id"] == world.other_id
    assert change["payload"]["source"] == "pupil"
    assert change["payload"]["comment"] == FORWARDED_COMMENT  # the pupil's words stay at DOV
    both = browser.follow(report(browser, shown, attribute="family_name"))
    assert "Bedankt" in both.text
    newest = list_reports(make_engine(world.idp.database_url), source="pupil")[0]
    assert set(newest.forwarded_to) == {world.idp.client_id, world.other_id}


def test_refusals_on_the_pupils_page(world: PupilWorld) -> None:
    issuer = world.idp.issuer
    nobody = httpx.post(f"{issuer}/v1/mijn-gegevens/melding", data={"text": "x"})
    assert nobody.status_code == 200 and 'name="password"' in nobody.text  # log in first
    browser, page = logged_in(world)
    insz = report(browser, page, text="mijn nummer is 13040212345")
    assert insz.status_code == 400 and "rijksregisternummer" in insz.text
    empty = report(browser, page, text="  ", attribute="", problem="")
    assert empty.status_code == 400
    assert "Kies welk gegeven" in empty.text and "Schrijf kort" in empty.text
    forged = report(browser, page, csrf_token="x" * 30)
    assert forged.status_code == 403
    stranger = Browser()  # another browser: its own CSRF cookie, no session of this pupil
    stranger.http.cookies.set("leerid_sso", browser.http.cookies.get("leerid_sso") or "")
    assert report(stranger, page).status_code == 403
    assert list_reports(make_engine(world.idp.database_url), source="pupil") == []
    for _ in range(PUPIL_REPORTS_PER_HOUR):
        assert report(browser, page).status_code == 303
    throttled = report(browser, page)
    assert throttled.status_code == 429 and "over een uur" in throttled.text
    bad_login = Browser()
    form = bad_login.open(f"{issuer}/v1/mijn-gegevens")
    again = bad_login.submit(form, {"username": world.username, "password": "fout"})
    assert again.status_code == 200 and "klopt niet" in again.text
