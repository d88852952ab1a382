"""A poll's SETs applied as one batch (SQLite and PostgreSQL) end exactly as the same SETs
applied one by one: the order about one pupil, a jti twice in one batch, a bad SET in the
middle, every privacy-log entry (art. 6) in SET order and the log's chain intact."""

from __future__ import annotations

import json
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from leerid.duties import hash_chain
from leerid.sp.kit import privacy_log, set_verify
from leerid.sp.kit.events_apply import apply_sets
from leerid.sp.kit.models import AppliedEvent, DossierEntry, PrivacyLogEntry, PupilRecord
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.pupil_events import uuid_key
from leerid.store.engine import session_scope
from tests.sp.test_events_apply import NOW, pupil, verified

KINDS = ("merge", "delete", "purge", "request")


def event(kind: str, pool: list[str], a: int, b: int) -> tuple[str, dict[str, Any]]:
    if kind == "merge":
        merge = {"kept_leer_id_uuid": pool[b], "absorbed_leer_id_uuid": pool[a], "merged_at": "x"}
        return set_verify.PUPILS_MERGED, merge
    if kind == "request":  # art. 6: a SET of another type between them
        return set_verify.PROCESSOR_LIST_REQUESTED, {"requested_at": NOW.isoformat()}
    kind_uri = set_verify.ACCOUNT_DELETED if kind == "delete" else set_verify.ACCOUNT_PURGED
    return kind_uri, {"leer_id_uuid": pool[a], "account_uuids": [], "reason": "test"}


def items(provider: ServiceProvider, steps: list[tuple[str, int, int]], pool: list[str]) -> Any:
    return [verified(provider, *event(kind, pool, a, b), uuid.uuid4().hex) for kind, a, b in steps]


def state(provider: ServiceProvider, pool: list[str]) -> list[Any]:
    """Per key of ``pool``: its record (name, kind) and its dossier notes."""
    with session_scope(provider.engine) as session:
        found = []
        for key in pool:
            record = session.get(PupilRecord, key)
            notes = session.scalars(select(DossierEntry.text).where(DossierEntry.pupil_key == key))
            found.append(
                (None if record is None else (record.family_name, record.key_kind), sorted(notes))
            )
        return found


def entries(provider: ServiceProvider, after: int, pool: list[str]) -> list[Any]:
    """The log entries after ``after``: action, pupil (as its place in ``pool``), counts."""
    with session_scope(provider.engine) as session:
        rows = session.scalars(
            select(PrivacyLogEntry).where(PrivacyLogEntry.seq > after).order_by(PrivacyLogEntry.seq)
        ).all()
        places = {key: i for i, key in enumerate(pool)}
        return [
            (
                row.action,
                places.get(row.pupil_key or "", row.pupil_key),
                {
                    k: v
                    for k, v in json.loads(row.detail).items()
                    if k in ("aantal", "records_verplaatst")
                },
            )
            for row in rows
        ]


def last_seq(provider: ServiceProvider) -> int:
    with session_scope(provider.engine) as session:
        return int(session.scalar(select(func.max(PrivacyLogEntry.seq))) or 0)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(KINDS), st.integers(0, 3), st.integers(0, 3)),
        min_size=1,
        max_size=10,
    ),
    present=st.sets(st.integers(0, 3)),
)
def test_a_batch_ends_as_its_sets_applied_one_by_one(
    provider: ServiceProvider, steps: list[tuple[str, int, int]], present: set[int]
) -> None:
    """Art. 3: merges and deletions of the same pupils, in any order, with another type in
    between: one batch gives the records, dossiers and log entries of one SET at a time."""
    pools = [[str(uuid.uuid4()) for _ in range(4)] for _ in range(2)]
    for pool in pools:
        for i in sorted(present):
            pupil(provider, pool[i], name=f"P{i}", days_ago=i + 1, note=f"gesprek {i}")
    start = last_seq(provider)
    batch = apply_sets(provider.engine, items(provider, steps, pools[0]))
    middle = last_seq(provider)
    alone = [apply_sets(provider.engine, [item]) for item in items(provider, steps, pools[1])]
    assert batch.applied == len(steps) == sum(a.applied for a in alone)
    assert not batch.errors and not batch.failed
    assert state(provider, pools[0]) == state(provider, pools[1])
    assert entries(provider, start, pools[0])[: middle - start] == entries(
        provider, middle, pools[1]
    )
    pupil_steps = sum(kind != "request" for kind, _a, _b in steps)
    assert len(entries(provider, middle, pools[1])) == pupil_steps  # art. 6: one per SET


def test_a_merge_then_a_deletion_of_the_kept_pupil_ends_deleted(provider: ServiceProvider) -> None:
    """Art. 3: the order about one pupil is kept within a batch; the chain of the privacy
    log stays valid (``leerid sp log verify``)."""
    absorbed, kept, later = (str(uuid.uuid4()) for _ in range(3))
    pupil(provider, absorbed, note="gesprek")
    steps = [("merge", 0, 1), ("delete", 1, 0), ("delete", 2, 0), ("merge", 2, 1)]
    pupil(provider, later, note="blijft niet")
    result = apply_sets(provider.engine, items(provider, steps, [absorbed, kept, later]))
    assert result.applied == 4
    assert state(provider, [absorbed, kept, later]) == [(None, []), (None, []), (None, [])]
    assert privacy_log.verify(provider.engine, provider.secrets).ok


def test_a_jti_twice_in_one_batch_is_applied_once(provider: ServiceProvider) -> None:
    """RFC 8936 §2.4: a repeat is acknowledged, never applied twice (also in one batch)."""
    absorbed, kept = str(uuid.uuid4()), str(uuid.uuid4())
    pupil(provider, absorbed)
    merge = {"kept_leer_id_uuid": kept, "absorbed_leer_id_uuid": absorbed, "merged_at": "x"}
    item = verified(provider, set_verify.PUPILS_MERGED, merge, "f" * 32)
    result = apply_sets(provider.engine, [item, item])
    assert (result.applied, result.duplicates, result.acknowledge) == (1, 1, ["f" * 32] * 2)
    with session_scope(provider.engine) as session:
        assert session.scalar(select(func.count()).select_from(AppliedEvent)) >= 1
        merged = session.scalars(
            select(PrivacyLogEntry).where(PrivacyLogEntry.action == "leerlingen_samengevoegd")
        ).all()
    assert len(merged) == 1


def test_a_bad_set_in_the_middle_is_rejected_and_the_others_applied_in_order(
    provider: ServiceProvider,
) -> None:
    """One malformed SET: rejected (setErrs), the SETs before and after it applied, in
    order (the batch falls back to one SET per transaction)."""
    absorbed, kept = str(uuid.uuid4()), str(uuid.uuid4())
    pupil(provider, absorbed, note="gesprek")
    pool = [absorbed, kept]
    first, last = items(provider, [("merge", 0, 1), ("delete", 1, 0)], pool)
    bad = verified(provider, set_verify.ACCOUNT_DELETED, {"leer_id_uuid": "Jan Peeters"}, "b" * 32)
    result = apply_sets(provider.engine, [first, bad, last])
    assert result.applied == 2 and result.acknowledge == [first.jti, last.jti]
    assert list(result.errors) == ["b" * 32]
    assert state(provider, pool) == [(None, []), (None, [])]
    assert privacy_log.verify(provider.engine, provider.secrets).ok


def _parsed(value: Any) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


@given(
    st.one_of(
        st.uuids().map(str),
        st.uuids().map(lambda u: str(u).upper()),
        st.uuids().map(lambda u: u.hex),
        st.text(max_size=40),
        st.integers(),
    )
)
def test_a_uuid_key_is_the_uuid_in_canonical_text_or_refused(value: Any) -> None:
    """Art. 3: a key in a DOV event is a UUID; the fast path for DOV's own spelling gives the
    same key as parsing it, and anything else is refused (invalid_request)."""
    expected = _parsed(value)
    try:
        assert uuid_key(value, "leer_id_uuid") == expected
    except set_verify.SetRejected as exc:
        assert expected is None and exc.err == "invalid_request"


@given(
    st.integers(min_value=0, max_value=2**62),
    st.text(),
    st.text(),
    st.text(),
    st.none() | st.text(),
    st.text(),
    st.text(),
)
def test_a_log_entry_is_hashed_over_its_canonical_json(
    seq: int, at: str, actor: str, action: str, key: str | None, purpose: str, detail: str
) -> None:
    """Art. 6: the chained hash of a privacy-log entry covers exactly ``canonical`` of its
    fields, whatever the text (quotes, control characters, any Unicode): the batch path
    writes the same text as the one ``leerid sp log verify`` recomputes."""
    fields = {
        "seq": seq,
        "at": at,
        "actor": actor,
        "action": action,
        "pupil_key": key,
        "purpose": purpose,
        "detail": detail,
    }
    assert hash_chain.entry_body(seq, at, actor, action, key, purpose, detail) == (
        hash_chain.canonical(fields)
    )
