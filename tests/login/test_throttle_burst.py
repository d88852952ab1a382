"""Issue 8 §5: bursts of simultaneous guesses against a real ``leerid idp serve`` (its
database work in threads, so that the reservations really race) get at most the lock
threshold checked.

The number of secrets checked is read from the server's own ``/metrics``
(``leerid_secret_checks_total``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.orm import Session

from leerid.idp.login.activation_codes import issue_for_school
from leerid.store.engine import make_engine
from leerid.testing.browser import hidden_field
from tests.idp_server import IdpProcess, Seed, seed_idp, start_idp
from tests.login.oidc_flow import authorization_url, pkce_pair
from tests.registry_seed import TODAY, add_pupil

LOCK_AFTER = 5
BURST = 150
GOOD = "blauwe fiets op zolder"


@pytest.fixture
def server(database_url: str) -> Iterator[tuple[IdpProcess, Seed]]:
    seed = seed_idp(database_url)
    env = {"LEERID_THROTTLE_ACCOUNT_LOCK_AFTER": str(LOCK_AFTER), "LEERID_DB_THREADS": "1"}
    idp = start_idp(database_url, more_env=env, workers=1)
    try:
        yield idp, seed
    finally:
        idp.stop()


def checks(client: httpx.Client, idp: IdpProcess, kind: str) -> float:
    """How many secrets of ``kind`` the server compared with a hash so far (all workers)."""
    text = client.get(f"{idp.base_url}/metrics").text
    found = re.search(rf'^leerid_secret_checks_total\{{kind="{kind}"\}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


async def burst(url: str, cookies: httpx.Cookies, forms: list[dict[str, str]]) -> Counter[int]:
    """POST every form at once (one connection each); the status codes seen."""
    limits = httpx.Limits(max_connections=len(forms))
    async with httpx.AsyncClient(cookies=cookies, limits=limits, timeout=120) as client:
        answers = await asyncio.gather(*(client.post(url, data=form) for form in forms))
    return Counter(answer.status_code for answer in answers)


def test_a_burst_of_passwords_gets_at_most_the_threshold_checked(
    server: tuple[IdpProcess, Seed],
) -> None:
    idp, seed = server
    with httpx.Client() as browser:
        _verifier, challenge = pkce_pair()
        url, _state, _nonce = authorization_url(
            idp.issuer, seed.client_id, seed.redirect_uri, challenge
        )
        page = browser.get(url).text
        base = {
            "request": hidden_field(page, "request"),
            "csrf_token": hidden_field(page, "csrf_token"),
        }
        wrong = [
            {**base, "username": seed.pupil.username, "password": f"fout-{i}"} for i in range(BURST)
        ]
        before = checks(browser, idp, "password")
        first = asyncio.run(burst(f"{idp.issuer}/v1/login", browser.cookies, wrong))
        locked = checks(browser, idp, "password")
        right = {**base, "username": seed.pupil.username, "password": seed.pupil.password}
        second = asyncio.run(burst(f"{idp.issuer}/v1/login", browser.cookies, [right, *wrong[:99]]))
        after = checks(browser, idp, "password")
    assert locked - before <= LOCK_AFTER, (first, locked - before)
    assert first[429] >= BURST - LOCK_AFTER and first[303] == 0, first
    assert second == Counter({429: 100}), second  # the right password does not get in
    assert after == locked


def test_a_burst_of_activation_codes_gets_at_most_the_threshold_checked(
    server: tuple[IdpProcess, Seed], database_url: str
) -> None:
    idp, _seed = server
    engine = make_engine(database_url)
    add_pupil(engine, "Burst", "Activatie")
    with Session(engine) as session, session.begin():
        issued = issue_for_school(session, "012345", TODAY, dt.datetime.now(dt.UTC))
    engine.dispose()
    pupil = next(i for i in issued if i.username.startswith("burst"))
    with httpx.Client() as browser:
        form = browser.get(f"{idp.issuer}/v1/activate").text
        base = {
            "form_state": hidden_field(form, "form_state"),
            "csrf_token": hidden_field(form, "csrf_token"),
            "username": pupil.username,
            "password": GOOD,
            "password_confirm": GOOD,
        }
        wrong = [{**base, "code": f"0000-0000-0000-{i:04d}"} for i in range(BURST)]
        before = checks(browser, idp, "activation_code")
        first = asyncio.run(burst(f"{idp.issuer}/v1/activate", browser.cookies, wrong))
        locked = checks(browser, idp, "activation_code")
        right = {**base, "code": pupil.code}
        second = asyncio.run(
            burst(f"{idp.issuer}/v1/activate", browser.cookies, [right, *wrong[:99]])
        )
        after = checks(browser, idp, "activation_code")
    assert locked - before <= LOCK_AFTER, (first, locked - before)
    assert first[429] >= BURST - LOCK_AFTER and first[200] == 0, first
    assert second == Counter({429: 100}), second  # the right code does not get in
    assert after == locked
