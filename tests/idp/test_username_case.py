"""The login page: the username in any case, and a way in for a pupil who never logged in."""

from __future__ import annotations

import re

from tests.idp.flow import Browser, RelyingParty, query
from tests.idp_server import RunningIdp


def test_username_in_capitals_logs_in(idp: RunningIdp) -> None:
    rp, browser = RelyingParty(idp), Browser()
    auth = rp.authorization()
    page = browser.open(auth.url)
    done = browser.provider_login(page, f"  {idp.username.upper()} ", idp.password)
    assert done.status_code == 303, done.text
    assert "code" in query(done.headers["location"])


def test_login_page_leads_a_new_pupil_to_activation(idp: RunningIdp) -> None:
    rp, browser = RelyingParty(idp), Browser()
    page = browser.open(rp.authorization().url)
    # the link carries the sealed login request, so activation leads back (issue 8 point 21)
    assert 'href="/op/v1/activate?login=' in page.text
    english = browser.open(rp.authorization(ui_locales="en").url)
    assert re.search(r'href="/op/v1/activate\?login=[^"&]+&amp;ui_locales=en"', english.text)
    assert browser.open(f"{idp.base_url}/op/v1/activate").status_code == 200
