"""Art. 4: a pseudonym's keys in the privacy log are found without hashing the whole log on
every request; only the entries written since the last request are hashed."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import delete

from leerid.sp.kit import privacy_log
from leerid.sp.kit.dpo_log import keys_of
from leerid.sp.kit.models import PrivacyLogEntry, PrivacyLogHead
from leerid.sp.kit.provider import ServiceProvider
from leerid.store.engine import session_scope
from tests.sp.test_store import drop_append_only_trigger

KEYS = [str(uuid.UUID(int=n)) for n in range(1, 41)]
PSEUDONYM = privacy_log.pseudonym


def _log(provider: ServiceProvider, keys: list[str]) -> None:
    with session_scope(provider.engine) as session:
        for key in keys:
            privacy_log.append(
                session, actor="clb.een", action="leerling_bekeken", purpose="x", pupil_key=key
            )


def _find(provider: ServiceProvider, key: str) -> list[str]:
    name = PSEUDONYM(provider.secrets, key)
    with session_scope(provider.engine) as session:
        return keys_of(session, provider.secrets, name)


def test_only_new_entries_are_hashed(
    provider: ServiceProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    _log(provider, KEYS[:30])
    assert _find(provider, KEYS[3]) == [KEYS[3]]
    hashed: list[str] = []

    def counting(secrets: object, key: str) -> str:
        hashed.append(key)
        return PSEUDONYM(provider.secrets, key)

    monkeypatch.setattr(privacy_log, "pseudonym", counting)
    _log(provider, KEYS[30:])
    assert _find(provider, KEYS[35]) == [KEYS[35]]
    assert sorted(hashed) == sorted(KEYS[30:])  # the ten new keys, not the thirty before
    hashed.clear()
    assert _find(provider, KEYS[0]) == [KEYS[0]] and hashed == []
    assert _find(provider, str(uuid.UUID(int=999))) == []


def test_a_log_that_is_not_the_one_read_before_is_read_again(
    provider: ServiceProvider,
) -> None:
    _log(provider, KEYS[:5])
    assert _find(provider, KEYS[1]) == [KEYS[1]]
    drop_append_only_trigger(provider.engine)
    with session_scope(provider.engine) as session:  # a restored, different log
        session.execute(delete(PrivacyLogEntry))
        session.execute(delete(PrivacyLogHead))
    _log(provider, KEYS[10:20])
    assert _find(provider, KEYS[12]) == [KEYS[12]]
    assert _find(provider, KEYS[1]) == []  # not in this log
