"""DOV's staff privacy log as DOV's DPO reads it (``/beheer/privacylog``, art. 4, 6).

Art. 4: the DPO sees every pupil as its pseudonym (``pseudonyms.dpo_pseudonyms``), also where
a pupil key stands in an entry's detail; a pupil is filtered on by its pseudonym, matched
against the pseudonyms of the keys in the log. Pages go by keyset on the entry's number, so a
page stays cheap however long the log grows.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Engine, select

from leerid.idp.store.console.pseudonyms import dpo_pseudonyms
from leerid.idp.store.console.staff_log import _detail
from leerid.idp.store.console_tables import StaffLogEntry

__all__ = ["DpoEntry", "DpoPage", "DpoQuery", "dpo_page"]

PER_PAGE = 200
_KEY = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass(frozen=True)
class DpoQuery:
    """The DPO's filters, every one optional; ``until`` is exclusive. ``older_than`` and
    ``newer_than`` are entry numbers: the page after or before the one shown."""

    actor: str = ""
    action: str = ""
    pseudonym: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    older_than: int | None = None
    newer_than: int | None = None


@dataclass(frozen=True)
class DpoEntry:
    """One entry as the DPO sees it: no pupil key anywhere (art. 4)."""

    seq: int
    at: dt.datetime
    actor: str
    action: str
    pupil: str
    purpose: str
    detail: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class DpoPage:
    """Up to ``PER_PAGE`` entries, newest first, and the numbers to page on (None: no more)."""

    entries: list[DpoEntry]
    older: int | None
    newer: int | None


def _keys_for(engine: Engine, pseudonym: str) -> list[str]:
    """Art. 4: the pupil keys in the log whose pseudonym is ``pseudonym`` (a pseudonym cannot
    be reversed, so the log's keys are pseudonymised and compared)."""
    with engine.connect() as conn:
        keys = conn.scalars(
            select(StaffLogEntry.pupil_key).where(StaffLogEntry.pupil_key.is_not(None)).distinct()
        ).all()
    names = dpo_pseudonyms(engine, keys)
    return [key for key, name in names.items() if name == pseudonym]


def _conditions(engine: Engine, query: DpoQuery) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if query.actor:
        conditions.append(StaffLogEntry.actor == query.actor)
    if query.action:
        conditions.append(StaffLogEntry.action == query.action)
    if query.pseudonym:
        conditions.append(StaffLogEntry.pupil_key.in_(_keys_for(engine, query.pseudonym)))
    if query.since is not None:
        conditions.append(StaffLogEntry.at >= query.since)
    if query.until is not None:
        conditions.append(StaffLogEntry.at < query.until)
    return conditions


def _keys_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if _KEY.match(value) else []
    if isinstance(value, list | tuple):
        return [key for item in value for key in _keys_in(item)]
    if isinstance(value, dict):
        return [key for item in value.values() for key in _keys_in(item)]
    return []


def _masked(value: Any, names: dict[str, str]) -> str:
    """A detail's value as text, every pupil key in it as its pseudonym (art. 4)."""
    if isinstance(value, str):
        return names.get(value, "psn-onbekend") if _KEY.match(value) else value
    if isinstance(value, list | tuple):
        return ", ".join(_masked(item, names) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_masked(v, names)}" for k, v in value.items())
    return str(value)


def _rows(engine: Engine, query: DpoQuery) -> list[Any]:
    """One more row than a page, to know whether there is another page that way."""
    conditions = _conditions(engine, query)
    stmt = select(StaffLogEntry).where(*conditions)
    if query.newer_than is not None:
        stmt = stmt.where(StaffLogEntry.seq > query.newer_than).order_by(StaffLogEntry.seq)
    else:
        if query.older_than is not None:
            stmt = stmt.where(StaffLogEntry.seq < query.older_than)
        stmt = stmt.order_by(StaffLogEntry.seq.desc())
    with engine.connect() as conn:
        return list(conn.execute(stmt.limit(PER_PAGE + 1)).all())


def dpo_page(engine: Engine, query: DpoQuery) -> DpoPage:
    """Art. 6: one page of the log for the DPO, newest first, pupils as pseudonyms (art. 4)."""
    rows = _rows(engine, query)
    more = len(rows) > PER_PAGE
    rows = rows[:PER_PAGE]
    going_back = query.newer_than is not None
    if going_back:
        rows.reverse()
    details = [_detail(r.detail) for r in rows]
    keys = [r.pupil_key for r in rows] + [k for d in details for k in _keys_in(d)]
    names = dpo_pseudonyms(engine, keys)
    shown = [
        DpoEntry(
            r.seq,
            r.at if r.at.tzinfo else r.at.replace(tzinfo=dt.UTC),
            r.actor,
            r.action,
            names.get(r.pupil_key or "", ""),
            r.purpose,
            [(k, _masked(v, names)) for k, v in d.items()],
        )
        for r, d in zip(rows, details, strict=True)
    ]
    if not shown:
        return DpoPage([], None, None)
    has_older = more if not going_back else True
    has_newer = more if going_back else query.older_than is not None
    return DpoPage(
        shown,
        shown[-1].seq if has_older else None,
        shown[0].seq if has_newer else None,
    )
