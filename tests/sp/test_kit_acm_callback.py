"""The portal's /callback against the fake ACM/IDM (tests/acm/fake_acm.py): an answer with
another ``state`` (a forged cross-site POST) leaves the login in progress intact (RFC 6749
§10.12), so that its own answer still succeeds."""

from __future__ import annotations

from pathlib import Path

import pytest

from leerid.sp.portal.browser_session import PENDING_COOKIE
from leerid.testing.browser import Browser
from tests.acm.fake_acm import FakeAcm
from tests.acm.world import acm_portal, acm_pupil, deliver, fake_acm, provider_answer, record_of
from tests.conftest import BACKENDS

pytestmark = [pytest.mark.parametrize("database_url", [BACKENDS[-1]], indirect=True)]


@pytest.fixture
def acm() -> FakeAcm:
    with fake_acm() as fake:
        yield fake  # type: ignore[misc]


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
