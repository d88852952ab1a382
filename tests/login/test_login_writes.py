"""Issue 4 §7: a password login writes five rows, counted by the database itself (row
triggers, see ``tests.login.write_log``): three for the flow (the disclosure's
transparency-log entry among them, issue 12 §1; the code is sealed, issue 15, so its grant
row is written once, at redemption) and two for the throttle's reservation, which issue 8 §5
requires before the password is checked."""

from __future__ import annotations

from collections import Counter

import httpx

from leerid.store.engine import make_engine
from tests.idp_server import seed_idp
from tests.login.live_server import live_idp
from tests.login.oidc_flow import exchange, password_login, userinfo
from tests.login.write_log import install_write_log, take_writes


def test_a_password_login_writes_five_rows(database_url: str) -> None:
    """Authorize, log in with the password, redeem the code: five rows.

    No row for the code (it is sealed), the grant row with its access token when the code is
    redeemed, one disclosure record for the ID token and its transparency-log entry (issue
    12 §1);
    userinfo is a release of its own and adds exactly its disclosure record and entry. The
    throttle reserves the attempt on the account's row before the hash (one INSERT) and
    drops the row after the good password (one DELETE): a burst of guesses cannot all be
    checked (issue 8 §5).
    """
    seed = seed_idp(database_url)
    pupil, rp_args = seed.pupil, (seed.client_id, seed.client_secret, seed.redirect_uri)
    observer = make_engine(database_url)
    install_write_log(observer)
    with live_idp(database_url) as idp, httpx.Client() as browser, httpx.Client() as rp:
        args = (idp.issuer, seed.client_id, seed.redirect_uri, pupil.username, pupil.password)
        # Warm-up: the first flow fills the caches (keys, clients, protocols); not counted.
        code, verifier, nonce = password_login(browser, *args)
        exchange(rp, idp.issuer, *rp_args, code, verifier, nonce)
        assert sum(take_writes(observer).values()) >= 3  # the log sees the server's writes
        browser.cookies.clear()  # no SSO session: the next login needs the password
        code, verifier, nonce = password_login(browser, *args)
        claims, access_token = exchange(rp, idp.issuer, *rp_args, code, verifier, nonce)
        login_writes = take_writes(observer)
        info = userinfo(rp, idp.issuer, access_token)
        userinfo_writes = take_writes(observer)
    observer.dispose()
    assert claims["sub"] == info["sub"] == pupil.account_uuid
    assert login_writes == Counter(
        {
            "INSERT login_throttle": 1,
            "DELETE login_throttle": 1,
            "INSERT idp_grant": 1,
            "INSERT idp_disclosure": 1,
            "INSERT idp_tlog_entry": 1,
        }
    ), login_writes
    assert userinfo_writes == Counter({"INSERT idp_disclosure": 1, "INSERT idp_tlog_entry": 1})
