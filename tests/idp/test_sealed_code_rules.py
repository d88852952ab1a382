"""Sealed codes (issue 15) as values: what goes in comes out, nothing else opens, and the
largest grant the parameter limits allow still fits the token endpoint's ``code`` limit."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from leerid.idp.store.grants import CODE_REUSE_WINDOW
from leerid.idp.web.authorization_codes import open_code, seal_code
from leerid.idp.web.browser_state import Sealer
from leerid.idp.web.parameters import RULES

SEALER = Sealer(b"k" * 32)
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]))


def _now() -> dt.datetime:
    """Now, to the millisecond (a code's times are whole milliseconds)."""
    now = dt.datetime.now(dt.UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _code(**fields: object) -> str:
    now = fields.pop("now", None) or _now()
    assert isinstance(now, dt.datetime)
    grant: dict[str, object] = {
        "client_id": "lars",
        "account_uuid": "0b6f5a4e-3c2d-4e1f-9a8b-7c6d5e4f3a2b",
        "scope": "openid ov_leerling",
        "nonce": "n-0S6_WzA2Mj",
        "redirect_uri": "https://lars.example/callback",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "sid": "f" * 32,
        "auth_time": now - dt.timedelta(minutes=5),
        "now": now,
        "lifetime": 30,
    }
    return seal_code(SEALER, **(grant | fields))  # type: ignore[arg-type]


@given(nonce=st.none() | TEXT, scope=TEXT, redirect_uri=TEXT, challenge=st.none() | TEXT)
def test_a_code_opens_to_the_grant_it_was_sealed_for(
    nonce: str | None, scope: str, redirect_uri: str, challenge: str | None
) -> None:
    now = _now()
    code = _code(
        now=now, nonce=nonce, scope=scope, redirect_uri=redirect_uri, code_challenge=challenge
    )
    grant = open_code(SEALER, code)
    assert grant is not None
    assert (grant.nonce, grant.scope, grant.redirect_uri, grant.code_challenge) == (
        nonce,
        scope,
        redirect_uri,
        challenge,
    )
    assert grant.issued_at == now and grant.expires_at == now + dt.timedelta(seconds=30)
    assert grant.auth_time == now - dt.timedelta(minutes=5)
    assert len(grant.grant_id) == 32 and grant.sid == "f" * 32


def test_every_code_is_a_new_grant() -> None:
    grants = {open_code(SEALER, _code()).grant_id for _ in range(100)}  # type: ignore[union-attr]
    assert len(grants) == 100


@given(data=st.data())
def test_no_changed_character_opens(data: st.DataObject) -> None:
    code = _code()
    at = data.draw(st.integers(0, len(code) - 1))
    other = data.draw(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_"))
    changed = code[:at] + other + code[at + 1 :]
    if changed != code:
        assert open_code(SEALER, changed) is None


def test_only_this_secret_and_this_purpose_open_a_code() -> None:
    code = _code()
    assert open_code(Sealer(b"j" * 32), code) is None
    assert SEALER.open("sso", code) is None  # a code is no SSO cookie
    assert open_code(SEALER, SEALER.seal("sso", {"g": "x"}, 60)) is None
    assert open_code(SEALER, SEALER.seal("code", {"g": "x"}, 60)) is None  # not a grant


def test_a_code_opens_for_the_reuse_window_after_its_expiry_and_then_never() -> None:
    """RFC 6749 §4.1.2: a replay within the window is seen (and revokes); after, unknown."""
    recent = _code(now=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=CODE_REUSE_WINDOW - 5))
    gone = _code(now=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=CODE_REUSE_WINDOW + 35))
    assert open_code(SEALER, recent) is not None
    assert open_code(SEALER, gone) is None


@settings(max_examples=30, deadline=None)
@given(nonce=TEXT.filter(lambda n: len(n) >= 512))
def test_the_largest_grant_fits_the_code_limit(nonce: str) -> None:
    code = _code(
        client_id="c" * RULES.table["client_id"].limit,
        scope="openid profile ov_leerling offline_access",
        nonce=nonce[: RULES.table["nonce"].limit],
        redirect_uri='"' * RULES.table["redirect_uri"].limit,
        code_challenge="x" * RULES.table["code_challenge"].limit,
    )
    assert len(code) <= RULES.table["code"].limit
    assert open_code(SEALER, code) is not None
