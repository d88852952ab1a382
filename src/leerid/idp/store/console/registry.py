"""The console's registry reads (issue 13): import runs, their rejects, a pupil search that
is logged in the same transaction (art. 6), and the merges' audit rows.

A search never writes a name or an INSZ in the log: the entry holds how it searched
(``referte``, ``insz`` or ``naam``), how many pupils it found and their ``leer_id_uuid``
(the pseudonymous key of art. 3), with the operator's purpose.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from leerid.idp.store.console import staff_log
from leerid.insz_text import looks_like_insz
from leerid.registry.insz import check_insz, compact_insz
from leerid.registry.lookup import PupilView, find_pupil, pupil_view
from leerid.registry.models import Enrolment, ImportRun, MergeRecord, Pupil
from leerid.store.engine import session_scope

__all__ = [
    "BY",
    "FoundPupil",
    "MergeRow",
    "RunView",
    "SearchError",
    "import_runs",
    "merges",
    "rejects_of",
    "search_pupils",
]

BY = ("referte", "insz", "naam")
MAX_FOUND = 20
"""Pupils shown for one name search at most (a name is not unique; refine with a first name)."""


class SearchError(ValueError):
    """A search the form must refuse: ``field`` is the form field, ``text`` what to do."""

    def __init__(self, field: str, text: str) -> None:
        super().__init__(text)
        self.field = field
        self.text = text


@dataclass(frozen=True)
class RunView:
    """One import run as the registry page lists it."""

    id: int
    started_at: dt.datetime
    finished_at: dt.datetime
    files: str
    outcome: str
    error: str | None
    created: int
    updated: int
    unchanged: int
    identified: int
    accounts_created: int
    accounts_retired: int
    enrolments: int
    rejects: int
    rejects_kept: bool

    @property
    def seconds(self) -> float:
        return max(0.0, (self.finished_at - self.started_at).total_seconds())


def import_runs(engine: Engine, limit: int = 20) -> list[RunView]:
    """The newest ``limit`` import runs, newest first (without their rejects' bytes)."""
    kept = ImportRun.rejects_gzip.is_not(None).label("kept")
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                ImportRun.id,
                ImportRun.started_at,
                ImportRun.finished_at,
                ImportRun.files,
                ImportRun.outcome,
                ImportRun.error,
                ImportRun.registrations_created,
                ImportRun.registrations_updated,
                ImportRun.registrations_unchanged,
                ImportRun.pupils_identified,
                ImportRun.accounts_created,
                ImportRun.accounts_retired,
                ImportRun.enrolments_written,
                ImportRun.rejects,
                kept,
            )
            .order_by(ImportRun.started_at.desc(), ImportRun.id.desc())
            .limit(limit)
        ).all()
    return [RunView(*tuple(row)) for row in rows]


def rejects_of(engine: Engine, run_id: int, *, actor: str) -> bytes | None:
    """The gzipped rejects of run ``run_id`` (None: no such run or none kept); a download
    is logged (art. 6: rejects carry refertes) in the same transaction."""
    with session_scope(engine) as session:
        data = session.scalar(select(ImportRun.rejects_gzip).where(ImportRun.id == run_id))
        if data is None:
            return None
        staff_log.append(
            session,
            actor=actor,
            action="rejects_download",
            purpose="geweigerde regels van een import nakijken",
            detail={"import": run_id},
        )
        return bytes(data)


@dataclass(frozen=True)
class FoundPupil:
    """A pupil as the search shows it (the INSZ masked: see ``masked_insz``)."""

    view: PupilView
    enrolments: tuple[tuple[str, str, dt.date, dt.date | None], ...]  # school, group, from, to

    @property
    def key(self) -> str | None:
        return self.view.leer_id_uuid


def masked_insz(insz: str | None) -> str:
    """Art. 3: the INSZ is released only where a decretal basis exists; the console needs it
    to confirm a match, not to copy it, so it shows the last 4 digits only."""
    if not insz:
        return "—"
    return "•" * (len(insz) - 4) + insz[-4:]


def _enrolments(
    session: Session, referten: tuple[str, ...]
) -> tuple[tuple[str, str, dt.date, dt.date | None], ...]:
    rows = session.execute(
        select(
            Enrolment.instellingsnummer,
            Enrolment.administratieve_groep,
            Enrolment.begindatum,
            Enrolment.einddatum,
        )
        .where(Enrolment.referte.in_(referten))
        .order_by(Enrolment.begindatum.desc())
    ).all()
    return tuple((r[0], r[1], r[2], r[3]) for r in rows)


def _by_name(session: Session, naam: str, voornaam: str) -> list[int]:
    stmt = select(Pupil.id).where(func.lower(Pupil.naam) == naam.lower())
    if voornaam:
        stmt = stmt.where(func.lower(Pupil.voornaam) == voornaam.lower())
    return list(session.scalars(stmt.order_by(Pupil.voornaam, Pupil.id).limit(MAX_FOUND)))


def _checked(by: str, value: str, voornaam: str) -> str:
    """The search value as the registry keeps it, or ``SearchError`` naming the field."""
    value = value.strip()
    if by not in BY:
        raise SearchError("sleutel", "Kies zoeken op referte, INSZ of naam.")
    if not value:
        raise SearchError("waarde", "Vul in wat je zoekt.")
    if by == "insz":
        value = compact_insz(value)
        if not check_insz(value).valid:
            raise SearchError(
                "waarde", "Dit is geen geldig INSZ: 11 cijfers, controlegetal mod 97."
            )
    if by != "naam" and voornaam.strip():
        raise SearchError("voornaam", "Een voornaam hoort enkel bij zoeken op naam.")
    return value


def _found(session: Session, by: str, value: str, voornaam: str, on: dt.date) -> list[FoundPupil]:
    if by == "naam":
        ids = _by_name(session, value, voornaam.strip())
        views = [pupil_view(session, pupil_id, on) for pupil_id in ids]
    else:
        one = find_pupil(session, on=on, **{by: value})
        views = [] if one is None else [one]
    return [FoundPupil(view, _enrolments(session, view.referten)) for view in views]


def search_pupils(
    engine: Engine,
    *,
    actor: str,
    purpose: str,
    by: str,
    value: str,
    voornaam: str = "",
    on: dt.date,
) -> list[FoundPupil]:
    """Art. 6: find pupils by referte, INSZ or name, and log the search (never the value)."""
    purpose = purpose.strip()
    if not purpose:
        raise SearchError("doel", "Vul het doel van je opzoeking in (protocol art. 6).")
    if looks_like_insz(purpose):  # art. 3: the purpose is logged, so never a pupil's INSZ
        raise SearchError("doel", "Het doel mag geen rijksregisternummer bevatten: laat het weg.")
    value = _checked(by, value, voornaam)
    with session_scope(engine) as session:
        found = _found(session, by, value, voornaam, on)
        keys = [p.key or "niet-geïdentificeerd" for p in found]
        staff_log.append(
            session,
            actor=actor,
            action="pupil_search",
            purpose=purpose[:200],
            pupil_key=found[0].key if len(found) == 1 else None,
            detail={"by": by, "found": len(found), "keys": keys},
        )
    return found


@dataclass(frozen=True)
class MergeRow:
    """One manual merge: who kept which key and absorbed which, when and why."""

    merged_at: dt.datetime
    kept: str
    absorbed: str
    operator: str
    reason: str


def merges(engine: Engine, *, page: int = 1, per_page: int = 50) -> tuple[list[MergeRow], int]:
    """The merges, newest first, one page; and how many there are."""
    page = max(1, page)
    with engine.connect() as conn:
        total = conn.scalar(select(func.count()).select_from(MergeRecord)) or 0
        rows = conn.execute(
            select(
                MergeRecord.merged_at,
                MergeRecord.kept_leer_id_uuid,
                MergeRecord.absorbed_leer_id_uuid,
                MergeRecord.operator,
                MergeRecord.reason,
            )
            .order_by(MergeRecord.merged_at.desc(), MergeRecord.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).all()
    return [MergeRow(*row) for row in rows], int(total)
