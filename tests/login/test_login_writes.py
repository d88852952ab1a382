"""Issue 4 §7: at most 3 database writes per password login, counted in the server process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import Engine, event

from tests.idp_server import seed_idp
from tests.login.live_server import live_idp
from tests.login.oidc_flow import exchange, password_login, userinfo

WRITES = {"INSERT", "UPDATE", "DELETE", "MERGE"}


@contextmanager
def counted_writes(engine: Engine) -> Iterator[list[tuple[str, int]]]:
    """Every write statement the server's engine runs: (table, rows written)."""
    seen: list[tuple[str, int]] = []

    def after(_conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        words = statement.split()
        if words and words[0].upper() in WRITES:
            table = words[2] if words[0].upper() in {"INSERT", "DELETE"} else words[1]
            seen.append((f"{words[0].upper()} {table}", max(cursor.rowcount, 1)))

    event.listen(engine, "after_cursor_execute", after)
    try:
        yield seen
    finally:
        event.remove(engine, "after_cursor_execute", after)


def test_a_password_login_writes_at_most_three_rows(database_url: str) -> None:
    """Authorize, log in with the password, redeem the code: three rows at most.

    The grant (the code) at login, the same row when it becomes an access token, one
    disclosure record for the ID token; userinfo is a release of its own and adds exactly
    its disclosure record (issue 4 §5). The throttle writes nothing on a good password.
    """
    seed = seed_idp(database_url)
    pupil, rp_args = seed.pupil, (seed.client_id, seed.client_secret, seed.redirect_uri)
    with live_idp(database_url) as idp, httpx.Client() as browser, httpx.Client() as rp:
        args = (idp.issuer, seed.client_id, seed.redirect_uri, pupil.username, pupil.password)
        # Warm-up: the first flow fills the caches (keys, clients, protocols); not counted.
        code, verifier, nonce = password_login(browser, *args)
        exchange(rp, idp.issuer, *rp_args, code, verifier, nonce)
        browser.cookies.clear()  # no SSO session: the next login needs the password
        with counted_writes(idp.ctx.engine) as login_writes:
            code, verifier, nonce = password_login(browser, *args)
            claims, access_token = exchange(rp, idp.issuer, *rp_args, code, verifier, nonce)
        with counted_writes(idp.ctx.engine) as userinfo_writes:
            info = userinfo(rp, idp.issuer, access_token)
    assert claims["sub"] == info["sub"] == pupil.account_uuid
    assert sum(rows for _write, rows in login_writes) <= 3, login_writes
    assert len(login_writes) <= 3, login_writes
    assert [write for write, _rows in userinfo_writes] == ["INSERT idp_disclosure"]
