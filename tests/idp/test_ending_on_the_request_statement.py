"""Art. 8, 11: the end of a protocol rides on the statement a request runs anyway.

Nodes that cached the protocol in force (for a minute) and never saw its end refuse the very
next token exchange, userinfo call, single sign-on and password login after a termination
recorded by the real command; and an SSO flow costs PostgreSQL five round trips, counted on
the wire by libpq's own trace of every connection of the server (no reads of the end of its
own while none exists).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import httpx
import pytest
from fastapi import FastAPI

from leerid.idp.app import create_app
from leerid.idp.settings import IdpSettings
from leerid.idp.store.disclosures import list_disclosures
from leerid.store.engine import make_engine
from leerid.testing.browser import Browser
from leerid.testing.relying_party import RelyingParty, query, token_form
from leerid.testing.servers import serve_in_thread
from tests.conftest import run_leerid
from tests.idp_server import PROTOCOL_ID, Seed, seed_idp
from tests.login.wire_trace import WireTrace

LONG_CACHE = 60.0
"""Seconds the nodes cache protocols: longer than the test, so only the request sees an end."""


@contextmanager
def _node(database_url: str, issuer: str | None = None) -> Iterator[tuple[str, FastAPI]]:
    """An in-process provider (one node) on ``database_url``: (base URL, app)."""

    def make(base: str) -> FastAPI:
        settings = IdpSettings(
            issuer=issuer or f"{base}/op", database_url=database_url, cache_seconds=LONG_CACHE
        )
        return create_app(settings)

    with serve_in_thread(make, lifespan="off") as (base, app):
        try:
            yield base, app
        finally:
            app.state.idp.hasher.close()


def _code(browser: Browser, rp: RelyingParty, issuer_base: str, base: str) -> tuple[str, str]:
    """A code of single sign-on on the node at ``base``: (code, PKCE verifier)."""
    auth = rp.authorization()
    answer = browser.open(auth.url.replace(issuer_base, base))
    assert answer.status_code in (302, 303), answer.text
    return query(answer.headers["location"])["code"], auth.verifier


def _exchange(seed: Seed, base: str, code: str, verifier: str) -> httpx.Response:
    form = token_form(code, seed.redirect_uri, verifier)
    auth = (seed.client_id, seed.client_secret)
    return httpx.post(f"{base}/op/v1/token", auth=auth, data=form)


def _userinfo(base: str, access_token: str) -> httpx.Response:
    return httpx.get(f"{base}/op/v1/userinfo", headers={"Authorization": f"Bearer {access_token}"})


def _sso_flow(seed: Seed, browser: Browser, rp: RelyingParty, issuer_base: str, base: str) -> None:
    """Authorize (SSO), token and userinfo, all on the node at ``base``."""
    code, verifier = _code(browser, rp, issuer_base, base)
    token = _exchange(seed, base, code, verifier)
    assert token.status_code == 200, token.text
    info = _userinfo(base, token.json()["access_token"])
    assert info.status_code == 200, info.text


def _refused_page(page: httpx.Response) -> None:
    """The page of a protocol not in force (art. 11): 403, terminated, no login form."""
    assert page.status_code == 403 and "location" not in page.headers, page.text
    assert "beëindigd" in page.text and 'name="password"' not in page.text


def test_nodes_that_never_saw_a_termination_refuse_the_next_request(
    database_url: str, leerid_env: dict[str, str]
) -> None:
    """One node per path, each warmed by a whole flow while in force: after the CLI's
    termination each refuses its first request (the end is not in any node's cache)."""
    seed = seed_idp(database_url)
    with ExitStack() as stack, Browser() as browser:
        base, _ = stack.enter_context(_node(database_url))
        issuer = f"{base}/op"
        token_node, userinfo_node, sso_node, login_node = (
            stack.enter_context(_node(database_url, issuer))[0] for _ in range(4)
        )
        rp = RelyingParty(issuer, seed.client_id, seed.client_secret, seed.redirect_uri)
        page = browser.open(rp.authorization().url)
        assert browser.provider_login(page, seed.pupil.username, seed.pupil.password).is_redirect
        for node in (base, token_node, userinfo_node, sso_node, login_node):
            _sso_flow(seed, browser, rp, base, node)  # every node caches the protocol in force
        code, verifier = _code(browser, rp, base, base)
        served = _exchange(seed, base, *_code(browser, rp, base, base))
        access_token = served.json()["access_token"]
        form_browser = stack.enter_context(Browser())  # no session: the login form
        form_page = form_browser.open(rp.authorization().url.replace(base, login_node))
        assert form_page.status_code == 200  # a login form, posted after the end below

        done = run_leerid(
            ["protocol", "terminate", PROTOCOL_ID, "--reason", "Art. 4", "--operator", "dpo"],
            leerid_env,
        )
        assert done.returncode == 0, done.stderr

        refused = _exchange(seed, token_node, code, verifier)
        assert refused.status_code == 400 and "protocol_terminated" in refused.text
        assert "id_token" not in refused.text
        info = _userinfo(userinfo_node, access_token)
        assert info.status_code == 401 and "protocol_terminated" in info.text
        _refused_page(browser.open(rp.authorization().url.replace(base, sso_node)))
        password = seed.pupil.password
        _refused_page(form_browser.provider_login(form_page, seed.pupil.username, password))
    engine = make_engine(database_url)
    records = list_disclosures(engine, account_uuid=seed.pupil.account_uuid)
    engine.dispose()
    refusals = {(r.endpoint, r.reason) for r in records if r.outcome == "refused"}
    assert {("token", "protocol_terminated"), ("userinfo", "protocol_terminated")} <= refusals


def test_an_sso_flow_is_five_round_trips_to_postgresql(database_url: str) -> None:
    """Authorize (the code's INSERT), token (the code with its pupil, the exchange),
    userinfo (the token with its pupil, the disclosure): five; the end of the protocol is
    read by none of its own (it was eight: one read per endpoint)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("counts PostgreSQL's round trips (SQLite has none)")
    seed, flows = seed_idp(database_url), 12
    with WireTrace() as wire, _node(database_url) as (base, _), Browser() as browser:
        rp = RelyingParty(f"{base}/op", seed.client_id, seed.client_secret, seed.redirect_uri)
        page = browser.open(rp.authorization().url)
        browser.provider_login(page, seed.pupil.username, seed.pupil.password)
        for _ in range(flows):  # caches filled, statements prepared on every connection
            _sso_flow(seed, browser, rp, base, base)
        wire.start()
        for _ in range(flows):
            _sso_flow(seed, browser, rp, base, base)
        counted = wire.round_trips()
    assert counted == 5 * flows, counted / flows


def test_a_password_login_is_six_round_trips_to_postgresql(database_url: str) -> None:
    """The login page (the protocol's end, read as before), then the form: the throttle's
    counters, its reservation (issue 8 §5: before the hash), the credential, the
    reservation's release (one statement, no transaction around it) and the code's INSERT
    (which checks the end of the protocol): six, from nine."""
    if not database_url.startswith("postgresql"):
        pytest.skip("counts PostgreSQL's round trips (SQLite has none)")
    seed, logins = seed_idp(database_url), 6
    with WireTrace() as wire, _node(database_url) as (base, _):
        rp = RelyingParty(f"{base}/op", seed.client_id, seed.client_secret, seed.redirect_uri)

        def login() -> None:
            with Browser() as browser:
                page = browser.open(rp.authorization().url)
                done = browser.provider_login(page, seed.pupil.username, seed.pupil.password)
                assert done.status_code == 303, done.text

        for _ in range(logins):  # caches filled, statements prepared on every connection
            login()
        wire.start()
        for _ in range(logins):
            login()
        counted = wire.round_trips()
    assert counted == 6 * logins, counted / logins
