"""The portal's /callback against the fake ACM/IDM (tests/acm/fake_acm.py): the provider's
answer is taken only by the method of the login's response mode (query: a GET, form_post:
a POST), and an answer with another ``state`` (a forged cross-site POST) leaves the login in
progress intact (RFC 6749 §10.12), so that its own answer still succeeds."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from leerid.sp.portal.browser_session import PENDING_COOKIE
from leerid.testing.browser import Browser, hidden_fields
from tests.acm.fake_acm import FakeAcm
from tests.acm.world import acm_portal, acm_pupil, deliver, fake_acm, provider_answer, record_of
from tests.conftest import BACKENDS

pytestmark = [pytest.mark.parametrize("database_url", [BACKENDS[-1]], indirect=True)]

OTHER_METHOD = {"query": "POST", "form_post": "GET"}


@pytest.fixture
def acm() -> FakeAcm:
    with fake_acm() as fake:
        yield fake  # type: ignore[misc]


def _fields(answer: httpx.Response) -> dict[str, str]:
    """The authorization response's parameters: a redirect's query or the form_post page's."""
    if answer.status_code in (302, 303):
        return dict(parse_qsl(urlsplit(answer.headers["location"]).query))
    return hidden_fields(answer.text)


@pytest.mark.parametrize("mode", ["query", "form_post"])
def test_an_answer_by_the_other_method_than_the_response_mode_is_refused(
    acm: FakeAcm,
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    mode: str,
) -> None:
    """A code meant for a POST arriving in a URL (or the reverse) is refused, with a page
    that says what to do and a log line with the reason only (no state, no code)."""
    pupil = acm_pupil(acm)
    with acm_portal(acm, tmp_path / "lars", database_url, mode, monkeypatch) as portal:
        with Browser() as browser:
            answer = provider_answer(browser, portal.url, pupil.username, pupil.password)
            fields = _fields(answer)
            assert fields.get("code") and fields.get("state"), answer.text
            callback = f"{portal.url}/callback"
            if OTHER_METHOD[mode] == "GET":
                page = browser.http.get(callback, params=fields)
            else:
                page = browser.http.post(callback, data=fields)
            again = deliver(browser, answer)  # the same answer, now by the right method
        assert record_of(portal, pupil.claims["ov_leerid_uuid"]) is None
    assert page.status_code == 400 and "Aanmelden mislukt" in page.text
    assert "op een andere manier terug" in page.text and "Meld opnieuw aan" in page.text
    (line,) = [r.getMessage() for r in caplog.records if "answer came by" in r.getMessage()]
    assert OTHER_METHOD[mode] in line and mode in line
    assert fields["code"] not in caplog.text and fields["state"] not in caplog.text
    # that answer used up the login (its state matched): one answer per pending login
    assert again.status_code == 400 and "andere browser" in again.text


@pytest.mark.parametrize("mode", ["query", "form_post"])
def test_an_answer_with_another_state_leaves_the_login_in_progress_intact(
    acm: FakeAcm,
    tmp_path: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
) -> None:
    """A forged cross-site POST (the pending-login cookie is SameSite=None under https) or a
    stale answer, with a state that is not this login's: refused, and the pupil's real
    answer afterwards still logs in."""
    pupil = acm_pupil(acm)
    with (
        acm_portal(acm, tmp_path / "lars", database_url, mode, monkeypatch) as portal,
        Browser() as browser,
    ):
        answer = provider_answer(browser, portal.url, pupil.username, pupil.password)
        junk = {"code": "a-code-of-the-attacker", "state": "not-this-logins-state"}
        callback = f"{portal.url}/callback"
        forged = (
            browser.http.post(callback, data=junk)
            if mode == "form_post"
            else browser.http.get(callback, params=junk)
        )
        assert forged.status_code == 400 and "Aanmelden mislukt" in forged.text
        cookies = forged.headers.get_list("set-cookie")
        assert not [c for c in cookies if c.startswith(PENDING_COOKIE)]  # not cleared
        page = browser.follow(deliver(browser, answer))
        assert page.status_code == 200 and page.url.path == "/mijn-gegevens", page.text
        record = record_of(portal, pupil.claims["ov_leerid_uuid"])
    assert record is not None and record.account_uuid == pupil.claims["ov_account_uuid"]
