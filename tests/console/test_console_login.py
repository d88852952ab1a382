"""DOV's console: logging in and out, the session, CSRF, the guard (issue 13)."""

from __future__ import annotations

import time
from typing import Any

import httpx

from leerid.idp.login.throttle import ThrottlePolicy
from leerid.idp.store.console.staff import active_staff
from leerid.idp.store.server_secret import load_server_secret
from leerid.idp.store.throttle import LoginThrottle
from leerid.idp.web.browser_state import Sealer
from leerid.store.engine import make_engine
from leerid.testing.browser import Browser, hidden_field
from tests.console.conftest import DPO, OPERATOR, PASSWORD, UNDATED, ConsoleSite


def test_a_right_password_opens_the_start_page(site: ConsoleSite) -> None:
    with Browser() as browser:
        answer = browser.console_login(site.base, OPERATOR, PASSWORD)
        assert answer.status_code == 303 and answer.headers["location"] == "/beheer"
        cookie = answer.headers["set-cookie"]
        assert "beheer_sessie=" in cookie
        for attribute in ("HttpOnly", "SameSite=strict", "Path=/beheer", "Max-Age=28800"):
            assert attribute.lower() in cookie.lower(), cookie
        home = browser.follow(answer)
        assert home.status_code == 200
        assert "Wat aandacht vraagt" in home.text and 'lang="nl"' in home.text
        assert home.headers["cache-control"] == "no-store"
        assert "default-src 'none'" in home.headers["content-security-policy"]


def test_without_a_session_every_page_sends_to_the_login_form(site: ConsoleSite) -> None:
    for path in ("/beheer",):
        answer = httpx.get(f"{site.base}{path}")
        assert answer.status_code == 303 and answer.headers["location"] == "/beheer/aanmelden"


def test_unknown_user_and_wrong_password_get_the_same_answer(site: ConsoleSite) -> None:
    answers: list[Any] = []
    times: list[list[float]] = [[], []]
    # Three tries each, alternating, the fastest of each kept: one stall of the machine during
    # a single try must not decide the timing comparison below.
    for _ in range(3):
        for kind, username in enumerate(("niemand-hier", OPERATOR)):
            with Browser() as browser:
                started = time.perf_counter()
                answer = browser.console_login(site.base, username, "fout-wachtwoord-123")
                times[kind].append(time.perf_counter() - started)
                answers.append(answer)
    for answer in answers:  # every try of both names
        assert answer.status_code == 200
        assert "Gebruikersnaam of wachtwoord klopt niet." in answer.text
        assert "beheer_sessie" not in answer.headers.get("set-cookie", "")
    # the same page but for the username typed back and the form's fresh token (last pair)
    # (the token first: a random token may hold the username "op", which must not break it)
    last = answers[-2:]
    token = [hidden_field(a.text, "csrf_token") for a in last]
    strip = [
        a.text.replace(t, "T").replace("niemand-hier", "X").replace(OPERATOR, "X")
        for a, t in zip(last, token, strict=True)
    ]
    assert strip[0] == strip[1]
    assert min(times[0]) > 0.3 * min(times[1])  # the unknown name is hashed against a dummy too


def test_a_missing_field_is_named(site: ConsoleSite) -> None:
    with Browser() as browser:
        answer = browser.console_login(site.base, OPERATOR, "")
        assert answer.status_code == 400
        assert "Vul je wachtwoord in." in answer.text


def test_the_login_form_needs_its_csrf_token(site: ConsoleSite) -> None:
    data = {"username": OPERATOR, "password": PASSWORD, "csrf_token": "vervalst"}
    answer = httpx.post(f"{site.base}/beheer/aanmelden", data=data)
    assert answer.status_code == 403
    assert "Het formulier was verlopen" in answer.text


def test_the_throttle_locks_and_keeps_staff_names_apart(site: ConsoleSite) -> None:
    name = site.idp.username  # a pupil's username, typed at the console
    with Browser() as browser:
        statuses = [browser.console_login(site.base, name, "fout").status_code for _ in range(5)]
    assert statuses[-1] == 429, statuses
    with Browser() as browser:
        locked = browser.console_login(site.base, name, "fout")
        assert "Te veel mislukte pogingen" in locked.text
    engine = make_engine(site.idp.database_url)
    try:  # the pupil of that name is not locked: the console counts under its own keys
        verdict = LoginThrottle(engine, ThrottlePolicy(account_lock_after=4)).check_sync(
            name, "127.0.0.1"
        )
        assert verdict.allowed
    finally:
        engine.dispose()


def test_an_expired_or_forged_session_is_refused(site: ConsoleSite) -> None:
    engine = make_engine(site.idp.database_url)
    try:
        sealer = Sealer(load_server_secret(engine))
        account = active_staff(engine, OPERATOR)
    finally:
        engine.dispose()
    assert account is not None
    data = {"u": OPERATOR, "c": "x", "s": "ab" * 16, "t": 0, "p": account.mark}
    expired = sealer.seal("beheer-sessie", data, -1)
    alive = sealer.seal("beheer-sessie", data, 60)
    foreign = sealer.seal("sso", data, 60)
    unmarked = sealer.seal("beheer-sessie", {**data, "p": "0" * 32}, 60)  # an older password
    for value, status in ((expired, 303), (foreign, 303), (unmarked, 303), (alive, 200)):
        answer = httpx.get(f"{site.base}/beheer", cookies={"beheer_sessie": value})
        assert answer.status_code == status, value


def test_a_post_without_the_sessions_csrf_token_is_refused(site: ConsoleSite) -> None:
    with site.browser(OPERATOR) as browser:
        answer = browser.http.post(f"{site.base}/beheer/afmelden", data={"csrf_token": "x"})
        assert answer.status_code == 403
        assert browser.open(f"{site.base}/beheer").status_code == 200  # still logged in


def test_logout_ends_the_session(site: ConsoleSite) -> None:
    with site.browser(DPO) as browser:
        home = browser.open(f"{site.base}/beheer")
        out = browser.submit(home, {}, index=0)  # the logout form in the header
        assert out.status_code == 303 and out.headers["location"] == "/beheer/aanmelden"
        page = browser.follow(out)
        assert "Je bent afgemeld." in page.text
        assert browser.open(f"{site.base}/beheer").status_code == 303
    # a copy of the cookie taken before the logout opens nothing either
    with site.browser(DPO) as browser:
        kept = dict(browser.http.cookies)
        home = browser.open(f"{site.base}/beheer")
        assert browser.submit(home, {}, index=0).status_code == 303
    assert httpx.get(f"{site.base}/beheer", cookies=kept).status_code == 303


def test_a_disabled_account_is_out_at_its_next_request(site: ConsoleSite) -> None:
    from leerid.idp.store.console.staff import add_staff, disable_staff
    from leerid.testing.seeding import hash_password

    engine = make_engine(site.idp.database_url)
    try:
        add_staff(engine, "weg", hash_password(PASSWORD), "dpo", actor="test")
        with site.browser("weg") as browser:
            assert browser.open(f"{site.base}/beheer").status_code == 200
            disable_staff(engine, "weg", actor="test")
            assert browser.open(f"{site.base}/beheer").status_code == 303
            again = browser.console_login(site.base, "weg", PASSWORD)
            assert "Gebruikersnaam of wachtwoord klopt niet." in again.text
    finally:
        engine.dispose()


def test_a_new_password_ends_the_accounts_open_sessions(site: ConsoleSite) -> None:
    """A password changed (``leerid beheer staff password``) ends every session opened with
    the old one at its next request; a role changed counts at once; enabling lets in again."""
    from leerid.idp.store.console.staff import (
        add_staff,
        disable_staff,
        enable_staff,
        set_password,
        set_role,
    )
    from leerid.testing.seeding import hash_password

    engine = make_engine(site.idp.database_url)
    other = "een-ander-lang-wachtwoord-8"
    try:
        add_staff(engine, "wissel", hash_password(PASSWORD), "dpo", actor="test")
        with site.browser("wissel") as old, site.browser(OPERATOR) as bystander:
            assert old.open(f"{site.base}/beheer/register").status_code == 403  # a DPO
            set_role(engine, "wissel", "operator", actor="test")
            assert old.open(f"{site.base}/beheer/register").status_code == 200
            set_password(engine, "wissel", hash_password(other), actor="test")
            assert old.open(f"{site.base}/beheer").status_code == 303  # out
            assert bystander.open(f"{site.base}/beheer").status_code == 200  # others stay
        with site.browser() as browser:
            assert browser.console_login(site.base, "wissel", other).status_code == 303
            assert browser.open(f"{site.base}/beheer").status_code == 200
        disable_staff(engine, "wissel", actor="test")
        enable_staff(engine, "wissel", actor="test")
        with site.browser() as browser:
            assert browser.console_login(site.base, "wissel", other).status_code == 303
    finally:
        engine.dispose()


def test_an_unknown_console_path_is_a_404_page(site: ConsoleSite) -> None:
    with site.browser(UNDATED) as browser:
        answer = browser.open(f"{site.base}/beheer/bestaat-niet")
        assert answer.status_code == 404 and "Niet gevonden" in answer.text


def test_every_console_page_speaks_dutch(site: ConsoleSite) -> None:
    from tests.test_page_words import check

    pages = {"login": httpx.get(f"{site.base}/beheer/aanmelden").text}
    paths = ["/beheer", "/beheer/protocollen", "/beheer/clients"]
    paths += ["/beheer/register/samenvoegingen", "/beheer/bestaat-niet"]
    for who in (OPERATOR, DPO):
        with site.browser(who) as browser:
            for path in [*paths, "/beheer/register", "/beheer/register/zoeken"]:
                pages[f"{who} {path}"] = browser.open(f"{site.base}{path}").text
    with site.browser(OPERATOR) as browser:
        form = browser.open(f"{site.base}/beheer/register/zoeken")
        data = {"sleutel": "insz", "waarde": site.idp.pupil.insz, "doel": "controle"}
        pages["search"] = browser.submit(form, data, index=1).text
    for name, html in pages.items():
        assert '<html lang="nl">' in html, name
        check(f"console {name}", html)
