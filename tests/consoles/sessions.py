"""Logging a console account in: over HTTP (the matrix) and in Chromium (the pages)."""

from __future__ import annotations

import httpx
from playwright.sync_api import Page

from leerid.errors import LeeridError
from leerid.testing.browser import Browser
from tests.consoles.world import LOGIN, Account, World

FIELDS = {"dov": ("username", "password"), "lars": ("gebruikersnaam", "wachtwoord")}
"""The login forms' fields: the user name's and the password's."""


def http_login(world: World, account: Account) -> httpx.Client:
    """An HTTP client with ``account``'s session (its form posted as a browser would)."""
    browser = Browser()
    form = browser.open(world.url(account.app, LOGIN[account.app]))
    name, password = FIELDS[account.app]
    answer = browser.submit(form, {name: account.username, password: account.password})
    if answer.status_code != 303:
        browser.close()
        raise LeeridError(f"{account.username} was not logged in: HTTP {answer.status_code}")
    return browser.http


def page_login(page: Page, world: World, account: Account) -> None:
    """Log ``account`` in with the login form in Chromium."""
    page.goto(world.url(account.app, LOGIN[account.app]))
    page.get_by_label("Gebruikersnaam").fill(account.username)
    page.get_by_label("Wachtwoord").fill(account.password)
    page.get_by_role("button", name="Aanmelden").click()
    page.wait_for_load_state()
    if page.url.endswith(LOGIN[account.app]):
        raise LeeridError(f"{account.username} was not logged in at {page.url}")
