"""The login page under brute force: locks after repeated failures, same answer for everyone."""

from __future__ import annotations

import re
from typing import Any

import httpx

from leerid.idp.login.throttle import ThrottlePolicy
from leerid.idp.store.throttle import LoginThrottle
from tests.idp_server import seed_idp
from tests.login.live_server import live_idp
from tests.login.oidc_flow import submit_login

LOCK_AFTER = 4


def attempt(*args: Any) -> httpx.Response:
    """One login attempt through the real form (see ``submit_login``)."""
    return submit_login(*args)[0]


def message(page: str) -> str:
    found = re.search(r'<p class="field-error" id="username-error">(.*?)</p>', page, re.S)
    assert found, page
    return re.sub(r"\d\d:\d\d", "HH:MM", found.group(1))


def test_repeated_failures_lock_the_account_and_unknown_names_alike(database_url: str) -> None:
    seed = seed_idp(database_url)
    pupil = seed.pupil
    with live_idp(database_url) as idp, httpx.Client() as browser:
        idp.ctx.throttle = LoginThrottle(
            idp.ctx.engine,
            ThrottlePolicy(
                account_base_delay=0.01, account_max_delay=0.02, account_lock_after=LOCK_AFTER
            ),
        )
        args = (browser, idp.issuer, seed.client_id, seed.redirect_uri)
        seen: dict[str, list[tuple[int, str]]] = {}
        for username in (pupil.username, "niemand.z9999"):
            answers = [
                attempt(*args, username, "niet-het-wachtwoord") for _ in range(LOCK_AFTER + 1)
            ]
            seen[username] = [(a.status_code, message(a.text)) for a in answers]
        locked = attempt(*args, pupil.username, pupil.password)  # even the right password
        other = attempt(*args, pupil.username.upper() + " ", pupil.password)
    assert seen[pupil.username] == seen["niemand.z9999"]
    statuses = [status for status, _text in seen[pupil.username]]
    assert statuses == [200] * LOCK_AFTER + [429]
    assert "Te veel mislukte pogingen" in seen[pupil.username][-1][1]
    assert re.search(r"na \d\d:\d\d CES?T\.", locked.text)  # Brussels time, zone shown
    assert "klopt niet" in seen[pupil.username][0][1]
    assert locked.status_code == 429 and "location" not in locked.headers
    assert other.status_code == 429  # one counter whatever the case or spaces
