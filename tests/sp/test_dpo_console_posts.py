"""The DPO's logged acts at LARS are POSTs with the CSRF token (art. 6: the export and the
"who looked" lookup are logged under the DPO's name, so a link or page elsewhere must not
trigger them), and a pupil key typed in a filter never stands in an address (art. 4)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from leerid.sp.kit import privacy_log
from leerid.sp.kit.provider import ServiceProvider
from leerid.testing.browser import hidden_fields
from tests.sp.test_dpo_console import LOG, PUPIL_A, PUPIL_B, console_world, csrf_of, logged
from tests.sp.test_lars_flow import staff_login

LOOKUP = f"{LOG}/inzage"


@pytest.fixture
def console(database_url: str, tmp_path: Path) -> Iterator[tuple[ServiceProvider, str]]:
    with console_world(database_url, tmp_path) as world:
        yield world


def _nothing_logged(provider: ServiceProvider) -> bool:
    return logged(provider, "privacylog_export") == [] and logged(provider, "inzage_dpo") == []


def test_a_get_exports_or_looks_up_nothing(console: tuple[ServiceProvider, str]) -> None:
    provider, url = console
    dpo = staff_login(url, "dpo.lars")
    name = privacy_log.pseudonym(provider.secrets, PUPIL_B)
    export = dpo.get(f"{url}{LOG}.csv", params={"leerling": name})
    assert export.status_code == 303 and export.headers["location"] == f"{LOG}?leerling={name}"
    page = dpo.get(url + export.headers["location"])
    assert f'method="post" action="{LOG}.csv"' in page.text  # the export's button
    asked = dpo.get(f"{url}{LOOKUP}", params={"pseudoniem": name})
    assert asked.status_code == 200 and "keer bekeken" not in asked.text
    fields = hidden_fields(asked.text.split(f'{name}">', 1)[0] + f'{name}">')
    assert fields["pseudoniem"] == name  # a button that posts it
    assert _nothing_logged(provider)


def test_a_post_without_the_csrf_token_is_refused(console: tuple[ServiceProvider, str]) -> None:
    provider, url = console
    dpo = staff_login(url, "dpo.lars")
    name = privacy_log.pseudonym(provider.secrets, PUPIL_B)
    for csrf in ({}, {"csrf": "x"}):
        assert dpo.post(f"{url}{LOG}.csv", data=csrf).status_code == 403
        assert dpo.post(f"{url}{LOOKUP}", data={**csrf, "pseudoniem": name}).status_code == 403
        assert dpo.post(f"{url}{LOOKUP}", data={**csrf, "sleutel": PUPIL_B}).status_code == 403
        assert dpo.post(f"{url}{LOG}", data={**csrf, "leerling": PUPIL_A}).status_code == 403
    assert _nothing_logged(provider)
    csrf = csrf_of(dpo, url)
    assert dpo.post(f"{url}{LOG}.csv", data={"csrf": csrf}).status_code == 200
    answer = dpo.post(f"{url}{LOOKUP}", data={"csrf": csrf, "pseudoniem": name})
    assert answer.status_code == 200 and "1 keer bekeken" in answer.text
    assert logged(provider, "privacylog_export") == [("dpo.lars", {"filters": {}})]
    assert logged(provider, "inzage_dpo") == [("dpo.lars", {"pseudoniem": name, "aantal": 1})]
    clb = staff_login(url, "clb.een")
    clb_csrf = csrf_of(clb, url)
    for path in (f"{LOG}.csv", LOOKUP, LOG):
        assert clb.post(f"{url}{path}", data={"csrf": clb_csrf}).status_code == 403, path


def _answers(dpo: httpx.Client, url: str, csrf: str) -> list[httpx.Response]:
    """The filter form posted with the key alone, with a wrong field beside it, with the
    key in other spellings; and the answers to where they lead."""
    forms = [
        {"leerling": PUPIL_A},
        {"leerling": PUPIL_A.upper(), "medewerker": "clb.een"},
        {"leerling": PUPIL_A, "van": "gisteren"},
        {"leerling": f" {PUPIL_A}x", "tot": "2026-03-01"},
    ]
    answers = [dpo.post(f"{url}{LOG}", data={"csrf": csrf, **form}) for form in forms]
    followed = [dpo.get(url + a.headers["location"]) for a in answers if a.status_code == 303]
    return answers + followed


def test_a_pupil_key_typed_in_never_stands_in_an_address(
    console: tuple[ServiceProvider, str],
) -> None:
    provider, url = console
    dpo = staff_login(url, "dpo.lars")
    page = dpo.get(f"{url}{LOG}")
    assert 'method="post" action="/personeel/privacylog" role="search"' in page.text
    name = privacy_log.pseudonym(provider.secrets, PUPIL_A)
    answers = _answers(dpo, url, hidden_fields(page.text)["csrf"])
    assert [a.status_code for a in answers] == [303, 303, 400, 400, 200, 200]
    assert answers[0].headers["location"] == f"{LOG}?leerling={name}"
    assert answers[1].headers["location"] == f"{LOG}?leerling={name}&medewerker=clb.een"
    assert f'value="{name}"' in answers[2].text  # the form again, with the pseudonym
    for answer in answers:
        for text in (answer.text, answer.headers.get("location", "")):
            assert PUPIL_A not in text.lower(), answer.request.url
        assert PUPIL_A not in str(answer.request.url).lower()
