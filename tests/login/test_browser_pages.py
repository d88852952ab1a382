"""The activation and login pages in a real headless Chromium: keyboard, screen reader, phone.

A pupil activates the school's code, then logs in through the login page of a real OpenID
Connect authorization request; the relying party's redirect is caught by the browser and
its code redeemed as a client would.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy.orm import Session

from leerid.idp.login.activation_codes import IssuedCredential, issue_for_school
from tests.axe import check_widths
from tests.conftest import BACKENDS
from tests.idp_server import Seed, seed_idp
from tests.login.live_server import LiveIdp, live_idp
from tests.login.oidc_flow import authorization_url, code_from, exchange, pkce_pair
from tests.registry_seed import TODAY, add_pupil

# The pages do not depend on the backend: one run, on PostgreSQL when it is configured.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", [BACKENDS[-1]], indirect=True),
]

NEW_PASSWORD = "groene kikker springt ver"


@pytest.fixture
def site(database_url: str) -> Iterator[tuple[LiveIdp, Seed, IssuedCredential]]:
    seed = seed_idp(database_url)
    with live_idp(database_url) as idp:
        add_pupil(idp.ctx.engine, "Emma", "Peeters", school="045678")
        with Session(idp.ctx.engine) as session, session.begin():
            (cred,) = issue_for_school(session, "045678", TODAY, dt.datetime.now(dt.UTC))
        yield idp, seed, cred


def focused(page: Page) -> str:
    return str(page.evaluate("document.activeElement && document.activeElement.id"))


def type_and_tab(page: Page, text: str) -> None:
    page.keyboard.type(text)
    page.keyboard.press("Tab")


def test_a_pupil_activates_and_logs_in_with_the_keyboard_only(
    browser: Browser, site: tuple[LiveIdp, Seed, IssuedCredential]
) -> None:
    idp, seed, cred = site
    page = browser.new_page()
    page.goto(f"{idp.issuer}/v1/activate")
    assert focused(page) == "username"  # the first field has focus; no mouse needed
    type_and_tab(page, cred.username)
    assert focused(page) == "code"
    type_and_tab(page, cred.code)
    assert focused(page) == "password"
    type_and_tab(page, NEW_PASSWORD)
    assert focused(page) == "password_confirm"
    page.keyboard.type(NEW_PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Je account is klaar"

    verifier, challenge = pkce_pair()
    url, state, nonce = authorization_url(idp.issuer, seed.client_id, seed.redirect_uri, challenge)
    page.goto(url)
    assert page.get_by_role("heading", level=1).inner_text() == "Aanmelden met LeerID"
    assert focused(page) == "username"
    type_and_tab(page, cred.username)
    assert focused(page) == "password"
    page.keyboard.type(NEW_PASSWORD)
    # The relying party's callback (http://127.0.0.1/cb) is not served: catch the request.
    with page.expect_request(lambda r: r.url.startswith(seed.redirect_uri)) as callback:
        page.keyboard.press("Enter")
    code = code_from(callback.value.url, state, idp.issuer)
    with httpx.Client() as rp:
        claims, _token = exchange(
            rp,
            idp.issuer,
            seed.client_id,
            seed.client_secret,
            seed.redirect_uri,
            code,
            verifier,
            nonce,
        )
    assert claims["sub"] == cred.account_uuid
    page.close()


def test_errors_are_announced_and_tied_to_their_fields(
    browser: Browser, site: tuple[LiveIdp, Seed, IssuedCredential]
) -> None:
    idp, _seed, cred = site
    page = browser.new_page()
    page.goto(f"{idp.issuer}/v1/activate?ui_locales=en")
    page.get_by_label("Username").fill(cred.username)
    page.get_by_label("Activation code").fill(cred.code)
    page.get_by_label("New password", exact=True).fill("password123")
    page.get_by_label("Repeat your new password").fill("password124")
    page.get_by_role("button", name="Activate account").click()
    page.wait_for_load_state()
    summary = page.get_by_role("alert")
    assert "Check the form" in summary.inner_text()
    assert (
        focused(page) == "" and page.evaluate("document.activeElement.className") == "error-summary"
    )
    for field, words in (("password", "easy to guess"), ("password_confirm", "not the same")):
        box = page.locator(f"#{field}")
        assert box.get_attribute("aria-invalid") == "true"
        described = (box.get_attribute("aria-describedby") or "").split()
        texts = [page.locator(f"#{ref}").inner_text() for ref in described]
        assert any(words in text for text in texts), (field, texts)
        assert summary.get_by_role("link", name=texts[-1]).get_attribute("href") == f"#{field}"
    assert page.locator("#username").get_attribute("aria-invalid") is None
    assert page.locator("#password").input_value() == ""  # never sent back
    page.close()


ACTIVATION_FIELDS = ("#username", "#code", "#password", "#password_confirm", "button")
LOGIN_FIELDS = ("#username", "#password", "button")


@pytest.mark.parametrize(
    ("page_name", "lang"), [("activate", "nl"), ("activate", "en"), ("login", "nl")]
)
def test_pages_fit_a_phone(
    browser: Browser, site: tuple[LiveIdp, Seed, IssuedCredential], page_name: str, lang: str
) -> None:
    idp, seed, _cred = site
    if page_name == "activate":
        url, fields = f"{idp.issuer}/v1/activate?ui_locales={lang}", ACTIVATION_FIELDS
    else:
        _verifier, challenge = pkce_pair()
        url, _state, _nonce = authorization_url(
            idp.issuer, seed.client_id, seed.redirect_uri, challenge, ui_locales=lang
        )
        fields = LOGIN_FIELDS
    context = browser.new_context(
        viewport={"width": 360, "height": 640}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.goto(url)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling
    for selector in fields:
        box = page.locator(selector).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360, selector
        assert box["height"] >= 40, selector  # a finger can hit it
        size = page.locator(selector).evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        assert size >= 16, selector  # phones do not zoom into the field
    context.close()


def test_every_page_of_the_provider_has_no_axe_violations_at_desktop_and_phone_width(
    browser: Browser, site: tuple[LiveIdp, Seed, IssuedCredential]
) -> None:
    """axe-core, injected by Playwright: activation, login, error, logout pages (nl and en)."""
    idp, seed, cred = site
    found: list[str] = []
    context = browser.new_context()
    page = context.new_page()
    for lang in ("nl", "en"):
        page.goto(f"{idp.issuer}/v1/activate?ui_locales={lang}")
        check_widths(page, found)
    page.goto(f"{idp.issuer}/v1/activate")
    page.fill("#username", cred.username)
    page.fill("#code", cred.code)
    page.fill("#password", "password123")
    page.fill("#password_confirm", "password124")
    page.locator("button[type=submit]").click()
    page.wait_for_load_state()
    check_widths(page, found)  # the form with its errors
    page.fill("#code", cred.code)
    page.fill("#password", NEW_PASSWORD)
    page.fill("#password_confirm", NEW_PASSWORD)
    page.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("#password").count() == 0, "activation did not finish"
    check_widths(page, found)  # activated
    _verifier, challenge = pkce_pair()
    url, _state, _nonce = authorization_url(
        idp.issuer, seed.client_id, seed.redirect_uri, challenge
    )
    page.goto(url)
    check_widths(page, found)  # login
    page.fill("#username", cred.username)
    page.fill("#password", "not the password")
    page.locator("button[type=submit]").click()
    page.wait_for_load_state()
    check_widths(page, found)  # login with an error
    page.fill("#password", NEW_PASSWORD)
    # the client's redirect URI has no server here: answer it in the browser, so that the
    # navigation ends before the next one starts (else Chromium's error page races it)
    page.route(f"{seed.redirect_uri}**", lambda route: route.fulfill(body="ok"))
    page.locator("button[type=submit]").click()
    page.wait_for_url(f"{seed.redirect_uri}**")
    page.wait_for_load_state()
    page.goto(f"{idp.issuer}/v1/logout")
    check_widths(page, found)  # "do you want to log out?"
    page.locator("button[type=submit]").click()
    page.wait_for_load_state()
    check_widths(page, found)  # logged out
    page.goto(f"{idp.issuer}/v1/auth?client_id=unknown")
    check_widths(page, found)  # the error page
    context.close()
    assert found == []
