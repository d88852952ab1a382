"""Pupil events applied per run of consecutive SETs of one type (art. 3), with the outcome of
applying them one by one (``pupil_events``) in a few statements instead of several per SET.

A run is read with one query, worked out in memory in the SETs' order (a merge into a pupil
that a later SET of the run merges again ends at the last one), then written with one
statement per table. Every SET keeps its own privacy-log entry, with the same content as
when it is applied alone (art. 6).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import case, delete, insert, select, update
from sqlalchemy.orm import Session

from leerid.sp.kit.models import DossierEntry, PupilRecord, QualityReport
from leerid.sp.kit.pupil_events import log_deleted, log_merged, uuid_key, uuid_keys

Event = tuple[Mapping[str, Any], Mapping[str, Any]]
"""``(claims, event)`` of one verified SET."""

_FIELDS = ("key_kind", "account_uuid", "given_name", "family_name", "orgcodes", "last_login_at")


def _aware(moment: dt.datetime | None) -> dt.datetime:
    if moment is None:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)  # SQLite: no offset


def _records(session: Session, keys: set[str]) -> dict[str, dict[str, Any]]:
    """The pupil records of ``keys`` (locked), as plain dicts."""
    columns = [PupilRecord.pupil_key, *(getattr(PupilRecord, f) for f in _FIELDS)]
    found: dict[str, dict[str, Any]] = {}
    ordered = sorted(keys)
    for start in range(0, len(ordered), 500):
        stmt = select(*columns).where(PupilRecord.pupil_key.in_(ordered[start : start + 500]))
        for row in session.execute(stmt.with_for_update()):
            found[row.pupil_key] = dict(row._mapping)
    return found


def _move(session: Session, moved: Mapping[str, str]) -> None:
    """Dossier entries and reports under each old key now belong to its new key."""
    olds = sorted(moved)
    for start in range(0, len(olds), 500):
        part = olds[start : start + 500]
        for table in (DossierEntry, QualityReport):
            column = table.pupil_key
            new_key = case({old: moved[old] for old in part}, value=column)
            session.execute(update(table).where(column.in_(part)).values(pupil_key=new_key))


def pupils_merged(session: Session, events: Sequence[Event]) -> None:
    """Art. 3: a run of merges, as ``pupil_events.pupils_merged`` one after the other."""
    pairs = [
        (
            uuid_key(event.get("kept_leer_id_uuid"), "kept_leer_id_uuid"),
            uuid_key(event.get("absorbed_leer_id_uuid"), "absorbed_leer_id_uuid"),
        )
        for _claims, event in events
    ]
    before = _records(session, {k for pair in pairs for k in pair})
    state: dict[str, dict[str, Any] | None] = {k: dict(v) for k, v in before.items()}
    holds: dict[str, set[str]] = {}  # a key -> the original keys whose dossier lies there
    away: set[str] = set()  # original keys whose dossier lies elsewhere (listed in holds)
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
        log_merged(session, kept, absorbed, 1 if moved else 0)
    _write(session, before, state)
    _move(session, {old: new for new, olds in holds.items() for old in olds if old != new})
    session.execute(
        delete(PupilRecord).where(
            PupilRecord.pupil_key.in_(sorted(k for k, v in state.items() if v is None))
        )
    )


def _write(
    session: Session, before: Mapping[str, Any], state: Mapping[str, dict[str, Any] | None]
) -> None:
    """New and changed records (the removed ones go after their dossier has moved)."""
    blank = dict.fromkeys(_FIELDS)
    new = [{**blank, **v} for k, v in state.items() if v is not None and k not in before]
    changed = [v for k, v in state.items() if v is not None and k in before and v != before[k]]
    if new:
        session.execute(insert(PupilRecord), new)
    for row in changed:
        key = row["pupil_key"]
        values = {f: row[f] for f in _FIELDS}
        session.execute(update(PupilRecord).where(PupilRecord.pupil_key == key).values(values))


def account_deleted(session: Session, events: Sequence[Event]) -> None:
    """Art. 3: a run of deletions (or purges), as ``pupil_events.account_deleted`` one after
    the other: each SET's entry counts the records it removed."""
    per_set: list[list[str]] = []
    for _claims, event in events:
        keys = uuid_keys(event.get("account_uuids", []), "account_uuids")
        leer_id = event.get("leer_id_uuid")
        if leer_id is not None:
            keys.append(uuid_key(leer_id, "leer_id_uuid"))
        per_set.append(keys)
    present = set(_records(session, {k for keys in per_set for k in keys}))
    gone = sorted(present)
    for start in range(0, len(gone), 500):
        part = gone[start : start + 500]
        for table in (DossierEntry, QualityReport, PupilRecord):
            session.execute(delete(table).where(table.pupil_key.in_(part)))
    for (claims, _event), keys in zip(events, per_set, strict=True):
        removed = [k for k in dict.fromkeys(keys) if k in present]
        present.difference_update(removed)
        log_deleted(session, claims, removed)
