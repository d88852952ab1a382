"""A pupil may type the username in any case (usernames are issued in lowercase)."""

from __future__ import annotations

from tests.idp.flow import Browser, RelyingParty, query
from tests.idp_server import RunningIdp


def test_username_in_capitals_logs_in(idp: RunningIdp) -> None:
    rp, browser = RelyingParty(idp), Browser()
    auth = rp.authorization()
    page = browser.open(auth.url)
    done = browser.login(page, f"  {idp.username.upper()} ", idp.password)
    assert done.status_code == 303, done.text
    assert "code" in query(done.headers["location"])
