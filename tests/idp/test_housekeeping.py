"""``leerid idp purge``: expired rows go, in small batches; what may still be presented stays."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Engine, func, insert, select

from leerid.idp.store.grants import CODE_REUSE_WINDOW
from leerid.idp.store.housekeeping import purge_expired
from leerid.idp.store.log_retention import LogRetention
from leerid.idp.store.login_tables import ActivationCodeRow, LoginThrottleRow
from leerid.idp.store.models import (
    Disclosure,
    IdpAssertionJti,
    IdpEndedSession,
    IdpGrant,
    IdpRefreshToken,
)
from leerid.protocol import IsoDuration
from tests.conftest import run_leerid

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def _grant(
    code_expires: dt.datetime, access_expires: dt.datetime | None, family: str | None = None
) -> dict[str, object]:
    return {
        "id": uuid.uuid4().hex,
        "access_token_hash": uuid.uuid4().hex,
        "client_id": "c",
        "account_uuid": str(uuid.uuid4()),
        "scope": "openid",
        "auth_time": NOW - 2 * HOUR,
        "created_at": NOW - 2 * HOUR,
        "code_expires_at": code_expires,
        "access_expires_at": access_expires,
        "family_id": family,
    }


def _refresh(family: str, expires: dt.datetime) -> dict[str, object]:
    return {
        "token_hash": uuid.uuid4().hex,
        "family_id": family,
        "client_id": "c",
        "account_uuid": str(uuid.uuid4()),
        "scope": "openid offline_access",
        "auth_time": NOW - 2 * HOUR,
        "created_at": NOW - 2 * HOUR,
        "expires_at": expires,
    }


def _count(engine: Engine, model: type) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(model)) or 0)


def test_purge_deletes_only_what_can_no_longer_be_presented(engine: Engine) -> None:
    live_family, dead_family = uuid.uuid4().hex, uuid.uuid4().hex
    with engine.begin() as conn:
        conn.execute(
            insert(IdpGrant),
            [
                _grant(NOW - HOUR, NOW - HOUR / 2)
                for _ in range(5)  # done with: deleted
            ]
            + [
                _grant(NOW + dt.timedelta(seconds=20), None),  # a code still valid
                _grant(NOW - HOUR, NOW + HOUR / 2),  # an access token still valid
                _grant(NOW - HOUR, NOW - HOUR / 2, live_family),  # its refresh family lives
                _grant(NOW - HOUR, NOW - HOUR / 2, dead_family),  # its family is dead: deleted
            ],
        )
        conn.execute(
            insert(IdpRefreshToken),
            [
                _refresh(live_family, NOW + 24 * HOUR),
                _refresh(dead_family, NOW - HOUR),
            ],
        )
        conn.execute(
            insert(IdpAssertionJti),
            [
                {"key": "old", "expires_at": NOW - HOUR},
                {"key": "new", "expires_at": NOW + HOUR},
            ],
        )
        conn.execute(
            insert(IdpEndedSession),
            [
                {"sid": "old", "expires_at": NOW - HOUR},
                {"sid": "new", "expires_at": NOW + HOUR},
            ],
        )

    assert purge_expired(engine, NOW, dry_run=True).total == 6 + 1 + 1 + 1
    assert _count(engine, IdpGrant) == 9  # a dry run deletes nothing

    counts = purge_expired(engine, NOW, batch=2)
    assert (counts.grants, counts.refresh_tokens) == (6, 1)
    assert (counts.assertion_jtis, counts.ended_sessions) == (1, 1)
    # 6 grants in batches of 2, then an empty one; one (empty) for each of the other kinds
    assert counts.transactions == 4 + 1 + 1 + 1 + 4
    assert _count(engine, IdpGrant) == 3
    assert _count(engine, IdpRefreshToken) == 1
    assert _count(engine, IdpAssertionJti) == 1 and _count(engine, IdpEndedSession) == 1


def _disclosure(at: dt.datetime, outcome: str) -> dict[str, object]:
    return {
        "at": at,
        "client_id": "c",
        "account_uuid": str(uuid.uuid4()),
        "claims": "sub",
        "endpoint": "userinfo",
        "outcome": outcome,
    }


def test_each_record_kind_is_kept_for_its_period(engine: Engine) -> None:
    """Art. 6, GDPR art. 5.1.e and 5.2: releases 3 years, refusals 1 year, activation codes
    a month after expiry, throttle counters one window after the last failure."""
    year, day = dt.timedelta(days=365), dt.timedelta(days=1)
    three_years = IsoDuration(years=3).before(NOW)
    with engine.begin() as conn:
        conn.execute(
            insert(Disclosure),
            [
                _disclosure(three_years - dt.timedelta(seconds=1), "released"),  # goes
                _disclosure(three_years + dt.timedelta(seconds=1), "released"),  # stays
                _disclosure(NOW - 2 * year, "refused"),  # goes
                _disclosure(NOW - year + day, "refused"),  # stays
            ],
        )
        conn.execute(
            insert(ActivationCodeRow),
            [
                {
                    "account_uuid": "old",
                    "code_hash": "h",
                    "issued_at": NOW - 90 * day,
                    "expires_at": NOW - 31 * day,
                },
                {
                    "account_uuid": "new",
                    "code_hash": "h",
                    "issued_at": NOW - 40 * day,
                    "expires_at": NOW - 29 * day,
                },
            ],
        )
        conn.execute(
            insert(LoginThrottleRow),
            [
                {
                    "key": "spent",
                    "scope": "account",
                    "failures": 3,
                    "last_failure_at": NOW - 2 * HOUR,
                    "locked_until": None,
                },
                {
                    "key": "locked",
                    "scope": "account",
                    "failures": 10,
                    "last_failure_at": NOW - 2 * HOUR,
                    "locked_until": NOW + HOUR,
                },
                {
                    "key": "recent",
                    "scope": "address",
                    "failures": 1,
                    "last_failure_at": NOW - HOUR / 2,
                    "locked_until": None,
                },
            ],
        )
    counts = purge_expired(engine, NOW, batch=1)
    assert (counts.disclosures, counts.refusals) == (1, 1)
    assert (counts.activation_codes, counts.login_throttle) == (1, 1)
    with engine.connect() as conn:
        kept = conn.execute(select(Disclosure.outcome, Disclosure.at)).all()
        codes = set(conn.scalars(select(ActivationCodeRow.account_uuid)))
        keys = set(conn.scalars(select(LoginThrottleRow.key)))
    assert sorted(o for o, _ in kept) == ["refused", "released"]
    assert codes == {"new"} and keys == {"locked", "recent"}
    longer = LogRetention(disclosures=IsoDuration(years=10), refusals=IsoDuration(years=10))
    later = purge_expired(engine, NOW + 3 * year, retention=longer, dry_run=True)
    assert (later.disclosures, later.refusals) == (0, 0)


def test_purge_command(leerid_env: dict[str, str]) -> None:
    assert run_leerid(["db", "upgrade"], leerid_env).returncode == 0
    result = run_leerid(["idp", "purge", "--dry-run"], leerid_env)
    assert result.returncode == 0, result.stderr
    assert "would delete 0 rows" in result.stdout
    result = run_leerid(["idp", "purge", "--json"], leerid_env)
    assert '"disclosures": "P3Y"' in result.stdout and '"refusals": 0' in result.stdout
    env = {**leerid_env, "LEERID_RETENTION_REFUSALS": "one year"}
    bad = run_leerid(["idp", "purge"], env)
    assert bad.returncode == 2 and "LEERID_RETENTION_REFUSALS" in bad.stderr


def test_a_grant_outlives_the_window_in_which_its_sealed_code_still_opens(engine: Engine) -> None:
    """RFC 6749 §4.1.2 (issue 15): a sealed code opens ``CODE_REUSE_WINDOW`` after its expiry;
    without its grant row a replay would be redeemed again, so even a retention of nothing
    (and an access token that has expired, as a short lifetime allows) keeps the row."""
    window = dt.timedelta(seconds=CODE_REUSE_WINDOW)
    minute = dt.timedelta(minutes=1)
    with engine.begin() as conn:
        conn.execute(
            insert(IdpGrant),
            [
                _grant(NOW - window + minute, NOW - minute),  # a replay would still open
                _grant(NOW - window - minute, NOW - minute),  # it would not: deleted
            ],
        )
    counts = purge_expired(engine, NOW, retention=LogRetention(grants=IsoDuration()))
    assert counts.grants == 1
    with engine.connect() as conn:
        (kept,) = conn.execute(select(IdpGrant.code_expires_at)).scalars().all()
    assert kept is not None and kept.replace(tzinfo=dt.UTC) == NOW - window + minute
