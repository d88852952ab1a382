"""``leerid idp purge``: expired rows go, in small batches; what may still be presented stays."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Engine, func, insert, select

from leerid.idp.store.housekeeping import purge_expired
from leerid.idp.store.models import IdpAssertionJti, IdpEndedSession, IdpGrant, IdpRefreshToken
from tests.conftest import run_leerid

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def _grant(
    code_expires: dt.datetime, access_expires: dt.datetime | None, family: str | None = None
) -> dict[str, object]:
    return {
        "id": uuid.uuid4().hex,
        "code_hash": uuid.uuid4().hex,
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
    assert counts.transactions == 4 + 1 + 1 + 1  # 6 grants in batches of 2, then an empty one
    assert _count(engine, IdpGrant) == 3
    assert _count(engine, IdpRefreshToken) == 1
    assert _count(engine, IdpAssertionJti) == 1 and _count(engine, IdpEndedSession) == 1


def test_purge_command(leerid_env: dict[str, str]) -> None:
    assert run_leerid(["db", "upgrade"], leerid_env).returncode == 0
    result = run_leerid(["idp", "purge", "--dry-run"], leerid_env)
    assert result.returncode == 0, result.stderr
    assert "would delete 0 rows" in result.stdout
