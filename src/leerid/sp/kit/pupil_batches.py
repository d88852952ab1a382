"""Merges and deletions of pupils (art. 3) applied per run of consecutive SETs, with the
outcome of applying them one by one (``pupil_events``) in a few statements instead of several
per SET.

A run holds consecutive merges and deletions; its merges are applied first (in their order:
a merge into a pupil that a later merge absorbs ends at the last one), then its deletions.
That is the outcome of the SETs' own order as long as no merge comes after a deletion of
one of its pupils; such a merge starts the next run (``runs``). Each part is read with one
query, worked out in memory and written with one statement per table. Every SET keeps its
own privacy-log entry, with the same content and in the same order as when applied alone
(art. 6).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Table, case, delete, select, update
from sqlalchemy.orm import Session

from leerid.sp.kit import privacy_log
from leerid.sp.kit.carried_history import carry
from leerid.sp.kit.dossier import KEYED, detach, unify
from leerid.sp.kit.models import PupilRecord
from leerid.sp.kit.pupil_events import deleted_entry, merged_entry, uuid_key, uuid_keys
from leerid.sp.kit.set_verify import ACCOUNT_DELETED, ACCOUNT_PURGED, PUPILS_MERGED, VerifiedSet
from leerid.store import bulk

Event = tuple[Mapping[str, Any], Mapping[str, Any]]
"""``(claims, event)`` of one verified SET."""

RUN_TYPES = frozenset({PUPILS_MERGED, ACCOUNT_DELETED, ACCOUNT_PURGED})
"""The event types applied per run; any other SET is applied on its own."""

_RECORDS = cast(Table, PupilRecord.__table__)
_NO_SYNC = {"synchronize_session": False}
"""The run's statements leave the session's objects alone: the caller expires them after the
run (``events_apply``); the ORM's default would fetch every deleted or updated key back."""
_FIELDS = (
    "key_kind",
    "account_uuid",
    "given_name",
    "family_name",
    "search_name",
    "orgcodes",
    "last_login_at",
)


def _aware(moment: dt.datetime | None) -> dt.datetime:
    if moment is None:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)  # SQLite: no offset


def _records(session: Session, keys: set[str]) -> dict[str, dict[str, Any]]:
    """The pupil records of ``keys`` (locked), as plain dicts."""
    columns = [PupilRecord.pupil_key, *(getattr(PupilRecord, f) for f in _FIELDS)]
    found: dict[str, dict[str, Any]] = {}
    for condition in bulk.keys_in(session, PupilRecord.pupil_key, sorted(keys)):
        stmt = select(*columns).where(condition)
        for row in session.execute(stmt.with_for_update()):
            found[row.pupil_key] = dict(row._mapping)
    return found


def _move(session: Session, moved: Mapping[str, str]) -> None:
    """Dossier entries and reports (ours and DOV's, ``KEYED``) under each old key now belong
    to its new key (read first: most pupils have none, and a CASE over every moved key costs
    more than the read); where two dossiers meet, the entries take the key of the pupil's
    oldest entry (``unify``)."""
    for table in KEYED:
        column = table.pupil_key
        held: set[str] = set()
        for condition in bulk.keys_in(session, column, sorted(moved)):
            held.update(session.scalars(select(column).where(condition).distinct()))
        olds = sorted(held)
        for start in range(0, len(olds), bulk.CHUNK):
            part = olds[start : start + bulk.CHUNK]
            new_key = case({old: moved[old] for old in part}, value=column)
            stmt = update(table).where(column.in_(part)).values(pupil_key=new_key)
            session.execute(stmt, execution_options=_NO_SYNC)
    unify(session, set(moved.values()))  # entries keep their dossier, one per pupil
    carry(session, moved)  # GDPR art. 15: the pupil's history follows the new key


def _pairs(events: Sequence[Event]) -> list[tuple[str, str]]:
    """(kept, absorbed) of each merge."""
    return [
        (
            uuid_key(event.get("kept_leer_id_uuid"), "kept_leer_id_uuid"),
            uuid_key(event.get("absorbed_leer_id_uuid"), "absorbed_leer_id_uuid"),
        )
        for _claims, event in events
    ]


def _deleted_keys(event: Mapping[str, Any]) -> list[str]:
    keys = uuid_keys(event.get("account_uuids", []), "account_uuids")
    leer_id = event.get("leer_id_uuid")
    if leer_id is not None:
        keys.append(uuid_key(leer_id, "leer_id_uuid"))
    return keys


def runs(items: Sequence[VerifiedSet]) -> list[list[VerifiedSet]]:
    """``items`` cut into runs: a run of merges and deletions (``apply_run``), or one other
    SET on its own; a merge of a pupil deleted earlier in the run starts a new run."""
    cut: list[list[VerifiedSet]] = []
    deleted: set[str] | None = None  # the keys the current run deletes; None: no open run
    for item in items:
        if item.event_type not in RUN_TYPES:
            cut.append([item])
            deleted = None
            continue
        if item.event_type == PUPILS_MERGED:
            if deleted is None or deleted & set(_pairs([(item.claims, item.event)])[0]):
                cut.append([])
                deleted = set()
        elif deleted is None:
            cut.append([])
            deleted = set()
        if item.event_type != PUPILS_MERGED:
            deleted.update(_deleted_keys(item.event))
        cut[-1].append(item)
    return cut


def apply_run(session: Session, items: Sequence[VerifiedSet]) -> None:
    """Art. 3: a run of ``runs``: its merges, then its deletions; the entries in SET order."""
    merges = [i for i in items if i.event_type == PUPILS_MERGED]
    deletions = [i for i in items if i.event_type != PUPILS_MERGED]
    moved = _merge(session, _pairs([(i.claims, i.event) for i in merges]))
    removed = _delete(session, [_deleted_keys(i.event) for i in deletions])
    entries: dict[int, dict[str, Any]] = {
        id(item): merged_entry(*done) for item, done in zip(merges, moved, strict=True)
    }
    for item, keys in zip(deletions, removed, strict=True):
        entries[id(item)] = deleted_entry(item.claims, keys)
    privacy_log.append_many(session, [entries[id(item)] for item in items])


def _merge(session: Session, pairs: list[tuple[str, str]]) -> list[tuple[str, str, int]]:
    """Merges in order, as ``pupil_events.pupils_merged``; (kept, absorbed, moved) of each."""
    if not pairs:
        return []
    before = _records(session, {k for pair in pairs for k in pair})
    state: dict[str, dict[str, Any] | None] = {k: dict(v) for k, v in before.items()}
    holds: dict[str, set[str]] = {}  # a key -> the original keys whose dossier lies there
    away: set[str] = set()  # original keys whose dossier lies elsewhere (listed in holds)
    done: list[tuple[str, str, int]] = []
    for kept, absorbed in pairs:
        old = state.get(absorbed)
        moved = old is not None and absorbed != kept
        if old is not None and moved:
            target = state.get(kept) or {"pupil_key": kept, "key_kind": "leer_id_uuid"}
            target.setdefault("last_login_at", None)
            if target["last_login_at"] is None or _aware(old["last_login_at"]) > _aware(
                target["last_login_at"]
            ):
                target.update({f: old[f] for f in _FIELDS}, key_kind="leer_id_uuid")
            state[kept], state[absorbed] = target, None
            moving = holds.pop(absorbed, set()) | ({absorbed} - away)
            away.update(moving)
            holds.setdefault(kept, set()).update(moving)
        done.append((kept, absorbed, 1 if moved else 0))
    _write(session, before, state)
    _move(session, {old: new for new, olds in holds.items() for old in olds if old != new})
    gone = sorted(k for k, v in state.items() if v is None)
    for condition in bulk.keys_in(session, PupilRecord.pupil_key, gone):
        session.execute(delete(PupilRecord).where(condition), execution_options=_NO_SYNC)
    return done


def _write(
    session: Session, before: Mapping[str, Any], state: Mapping[str, dict[str, Any] | None]
) -> None:
    """New and changed records (the removed ones go after their dossier has moved)."""
    blank = dict.fromkeys(_FIELDS)
    new = [{**blank, **v} for k, v in state.items() if v is not None and k not in before]
    changed = [v for k, v in state.items() if v is not None and k in before and v != before[k]]
    bulk.insert_rows(session, _RECORDS, new)
    for row in changed:
        key = row["pupil_key"]
        values = {f: row[f] for f in _FIELDS}
        stmt = update(PupilRecord).where(PupilRecord.pupil_key == key).values(values)
        session.execute(stmt, execution_options=_NO_SYNC)


def _delete(session: Session, per_set: list[list[str]]) -> list[list[str]]:
    """Deletions in order, as ``pupil_events.account_deleted`` (the records go, their dossiers
    and reports are detached, each with one statement per chunk): the keys each removed."""
    if not per_set:
        return []
    present = set(_records(session, {k for keys in per_set for k in keys}))
    gone = sorted(present)
    detach(session, gone)  # art. 3: the CLB's own dossier and reports stay, without the key
    for condition in bulk.keys_in(session, PupilRecord.pupil_key, gone):
        session.execute(delete(PupilRecord).where(condition), execution_options=_NO_SYNC)
    removed: list[list[str]] = []
    for keys in per_set:
        removed.append([k for k in dict.fromkeys(keys) if k in present])
        present.difference_update(removed[-1])
    return removed
