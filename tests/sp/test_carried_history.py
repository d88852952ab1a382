"""GDPR art. 15 across merges and identifications: the pupil's history ("wie keek", "aan wie
gaf LARS je gegevens door", the DPO's lookup) follows the pupil to the new key, while no old
key is kept (art. 3: only the last login's data)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

from sqlalchemy import select

from leerid.sp.kit import privacy_log, set_verify
from leerid.sp.kit.carried_history import CARRIED
from leerid.sp.kit.events_apply import apply_sets
from leerid.sp.kit.models import PrivacyLogEntry
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.who_looked import looks_at
from leerid.store.engine import session_scope
from leerid.testing.protocol_confirmation import apply_department_event
from tests.sp.conftest import add_bound_staff
from tests.sp.test_dossier_retention import NOW, admit, configured, login
from tests.sp.test_events_batches import items


def looks(provider: ServiceProvider, key: str) -> list[tuple[str, str]]:
    with session_scope(provider.engine) as session:
        return [(look.action, look.actor) for look in looks_at(session, key)]


def carried(provider: ServiceProvider) -> list[dict[str, object]]:
    with session_scope(provider.engine) as session:
        rows = session.scalars(
            select(PrivacyLogEntry.detail).where(PrivacyLogEntry.action == CARRIED)
        ).all()
    return [json.loads(r) for r in rows]


def test_the_history_follows_an_identification_and_a_merge(
    database_url: str, tmp_path: Path
) -> None:
    provider = configured(database_url, tmp_path)
    temporary, leer_id, kept = (str(uuid.uuid4()) for _ in range(3))
    admit(provider, login(temporary, kind="account_uuid"), NOW - dt.timedelta(days=9))
    provider.view_pupil("clb", "toegangscontrole", temporary, "vraag van de school")
    provider.add_dossier_entry("clb", "toegangscontrole", temporary, "eerste gesprek")
    # identified at a login: the temporary account's history comes along
    admit(provider, login(leer_id, historiek=(temporary,)), NOW - dt.timedelta(days=3))
    provider.view_pupil("clb", "toegangscontrole", leer_id, "opvolging")
    assert looks(provider, leer_id) == [
        ("leerling_bekeken", "clb"),
        ("dossier_aangevuld", "clb"),
        ("leerling_bekeken", "clb"),
    ]
    # DOV merges the pupil into another: all three come along once more
    admit(provider, login(kept), NOW - dt.timedelta(days=1))
    merge = {"kept_leer_id_uuid": kept, "absorbed_leer_id_uuid": leer_id, "merged_at": "x"}
    assert apply_department_event(provider, set_verify.PUPILS_MERGED, merge).applied == 1
    assert len(looks(provider, kept)) == 3
    # art. 3: the entries that carry the history hold sequence numbers, never a key
    for detail in carried(provider):
        assert set(detail) == {"volgnummers"}
        assert all(isinstance(n, int) for n in detail["volgnummers"])  # type: ignore[attr-defined]
    assert privacy_log.verify(provider.engine, provider.secrets).ok
    provider.engine.dispose()


def test_a_batch_of_merges_carries_the_same_history_as_one_by_one(
    database_url: str, tmp_path: Path
) -> None:
    """A chain of merges in one batch of DOV's events ends with the same looks under the
    kept key as the same merges applied one at a time."""
    provider = configured(database_url, tmp_path)
    add_bound_staff(provider, "clb.twee", "een-lang-wachtwoord")
    pools = [[str(uuid.uuid4()) for _ in range(3)] for _ in range(2)]
    for pool in pools:
        for i, key in enumerate(pool):
            admit(provider, login(key), NOW - dt.timedelta(days=i + 1))
            provider.view_pupil("clb", "toegangscontrole", key, f"vraag {i}")
        provider.add_dossier_entry("clb.twee", "toegangscontrole", pool[0], "gesprek")
    steps = [("merge", 0, 1), ("merge", 1, 2)]  # 0 into 1, then 1 into 2
    assert apply_sets(provider.engine, items(provider, steps, pools[0])).applied == 2
    for item in items(provider, steps, pools[1]):
        assert apply_sets(provider.engine, [item]).applied == 1
    batch, alone = looks(provider, pools[0][2]), looks(provider, pools[1][2])
    assert sorted(batch) == sorted(alone)
    assert len(batch) == 4 and ("dossier_aangevuld", "clb.twee") in batch
    provider.engine.dispose()
