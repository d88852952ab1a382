"""Art. 7: the Department's store of data-quality reports, in both directions.

A service provider that finds a wrong, inaccurate, incomplete, missing, outdated or superfluous
attribute reports it at once in writing: ``POST /op/v1/quality-reports`` (client-
authenticated as at the token endpoint). The Department's DPO lists and closes reports
(``leerid reports list|close``); the provider reads the status back
(``POST /op/v1/quality-reports/status``). Both sides keep the report and its status.

``source`` says where a report comes from: ``client`` (a service provider, above), ``dov``
(the Department tells a service provider, ``leerid reports add``) or ``pupil`` (the pupil on
``/op/v1/mijn-gegevens``); see ``leerid.idp.store.report_directions``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import DateTime, Engine, String, Text, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from leerid.errors import LeeridError, NotFoundError
from leerid.idp.store.event_sources import note_report_status
from leerid.idp.store.report_codes import new_code, normalise_code
from leerid.insz_text import looks_like_insz
from leerid.store.base import Base
from leerid.store.engine import session_scope

__all__ = [
    "ANSWERS",
    "ATTRIBUTES",
    "PROBLEMS",
    "SOURCES",
    "InTransaction",
    "QualityReportRow",
    "ReportView",
    "check_report",
    "close_report",
    "find_report",
    "list_reports",
    "statuses_for",
    "store_report",
    "view_of",
]

ATTRIBUTES = (
    "given_name",
    "family_name",
    "ov_leerid_uuid",
    "ov_account_uuid",
    "ov_historiek_account_uuid",
    "ov_orgcode",
    "rrn",
)
# Art. 7: "foutieve, onnauwkeurige, onvolledige, ontbrekende, verouderde of overtollige"
PROBLEMS = ("foutief", "onnauwkeurig", "onvolledig", "ontbrekend", "verouderd", "overtollig")
STATUSES = ("open", "gesloten")
SOURCES = ("client", "dov", "pupil")
ANSWERS = ("in-behandeling", "opgelost", "afgewezen")
"""Art. 7: what the recipient answers to a report the Department sent it."""


class QualityReportRow(Base):
    """Art. 7: one report (from a service provider, from DOV or from a pupil), its status."""

    __tablename__ = "idp_quality_report"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True, index=True)  # "DQ-7K3M"
    # source client: the reporting client; dov: the addressed client; pupil: none
    client_id: Mapped[str | None] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(10), server_default="client")
    pupil_key: Mapped[str] = mapped_column(String(36), index=True)
    attribute: Mapped[str] = mapped_column(String(40))
    problem: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    resolution: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[str | None] = mapped_column(String(80))
    operator: Mapped[str | None] = mapped_column(String(200))  # who at DOV added it
    forwarded_to: Mapped[str | None] = mapped_column(Text)  # a pupil's: the clients told
    answer_status: Mapped[str | None] = mapped_column(String(20))  # the recipient's answer
    answer_text: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    answered_by: Mapped[str | None] = mapped_column(String(64))


@dataclass(frozen=True)
class ReportView:
    id: str  # internal; people and the service provider use the code
    code: str
    client_id: str | None
    pupil_key: str
    attribute: str
    problem: str
    comment: str
    status: str
    resolution: str | None
    received_at: dt.datetime
    closed_at: dt.datetime | None
    source: str = "client"
    forwarded_to: tuple[str, ...] = ()
    answer_status: str | None = None
    answer_text: str | None = None
    answered_at: dt.datetime | None = None
    answered_by: str | None = None
    operator: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.code,
            "source": self.source,
            "client_id": self.client_id,
            "pupil_key": self.pupil_key,
            "attribute": self.attribute,
            "problem": self.problem,
            "comment": self.comment,
            "status": self.status,
            "resolution": self.resolution,
            "received_at": self.received_at.isoformat(),
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "forwarded_to": list(self.forwarded_to),
            "answer": {
                "status": self.answer_status,
                "text": self.answer_text,
                "at": self.answered_at.isoformat() if self.answered_at else None,
                "by": self.answered_by,
            }
            if self.answer_status
            else None,
        }


def view_of(row: QualityReportRow) -> ReportView:
    def aware(v: dt.datetime | None) -> dt.datetime | None:
        return v if v is None or v.tzinfo else v.replace(tzinfo=dt.UTC)

    received = aware(row.received_at)
    assert received is not None
    return ReportView(
        row.id,
        row.code,
        row.client_id,
        row.pupil_key,
        row.attribute,
        row.problem,
        row.comment,
        row.status,
        row.resolution,
        received,
        aware(row.closed_at),
        source=row.source or "client",
        forwarded_to=tuple((row.forwarded_to or "").split()),
        answer_status=row.answer_status,
        answer_text=row.answer_text,
        answered_at=aware(row.answered_at),
        answered_by=row.answered_by,
        operator=row.operator,
    )


def check_report(pupil_key: str, attribute: str, problem: str, comment: str) -> str | None:
    """What is wrong with a report, or None."""
    try:
        uuid.UUID(pupil_key)
    except ValueError:
        return "pupil_key must be the pupil's Leer_id_uuid or Account_uuid"
    if attribute not in ATTRIBUTES:
        return "attribute must be one of " + ", ".join(ATTRIBUTES)
    if problem not in PROBLEMS:
        return "problem must be one of " + ", ".join(PROBLEMS)
    if len(comment) > 2000:
        return "comment is longer than 2000 characters"
    if looks_like_insz(comment):  # art. 3: no INSZ travels in a free-text comment
        return "comment contains what looks like a national register number; leave it out"
    return None


InTransaction = Callable[[Session, QualityReportRow], None]
"""What runs in the report's own transaction once the row is written (its change, art. 7)."""


def store_report(
    engine: Engine,
    client_id: str | None,
    pupil_key: str,
    attribute: str,
    problem: str,
    comment: str,
    *,
    source: str = "client",
    operator: str | None = None,
    then: InTransaction | None = None,
) -> ReportView:
    """Store a report under a new code; ``then`` runs in the same transaction (or none)."""
    for attempt in range(6):  # a clash of random codes is retried with a new code
        try:
            with session_scope(engine) as session:
                code = new_code(attempt)
                if session.scalar(select(QualityReportRow.id).where(QualityReportRow.code == code)):
                    continue
                row = QualityReportRow(
                    id=str(uuid.uuid4()),
                    code=code,
                    client_id=client_id,
                    pupil_key=pupil_key,
                    attribute=attribute,
                    problem=problem,
                    comment=comment,
                    status="open",
                    received_at=dt.datetime.now(dt.UTC),
                    source=source,
                    operator=operator,
                )
                session.add(row)
                session.flush()
                if then is not None:
                    then(session, row)
                return view_of(row)
        except IntegrityError:  # the same code stored by a concurrent report
            continue
    raise LeeridError("could not assign a report code; try again")  # pragma: no cover


def find_report(session: Session, report_id: str) -> QualityReportRow | None:
    """The report named by its code as a person types it (or, from before codes, its id)."""
    code = normalise_code(report_id)
    if code is not None:
        row = session.scalars(select(QualityReportRow).where(QualityReportRow.code == code)).first()
        if row is not None:
            return row
    return session.get(QualityReportRow, report_id.strip()) if len(report_id) == 36 else None


def list_reports(
    engine: Engine, status: str | None = None, source: str | None = None
) -> list[ReportView]:
    """The reports, newest first; ``status`` (open, gesloten) and ``source`` filter."""
    if status is not None and status not in STATUSES:
        raise LeeridError(f"--status {status!r}: use one of " + ", ".join(STATUSES))
    if source is not None and source not in SOURCES:
        raise LeeridError(f"--source {source!r}: use one of " + ", ".join(SOURCES))
    stmt = select(QualityReportRow).order_by(QualityReportRow.received_at.desc())
    if status:
        stmt = stmt.where(QualityReportRow.status == status)
    if source:
        stmt = stmt.where(QualityReportRow.source == source)
    with session_scope(engine) as session:
        return [view_of(r) for r in session.scalars(stmt)]


def close_report(
    engine: Engine,
    report_id: str,
    resolution: str,
    closed_by: str,
    then: InTransaction | None = None,
) -> ReportView:
    """Art. 7: the Department's DPO closes a report, saying what was done; ``then`` runs in
    the same transaction (the console's staff-log entry, art. 6)."""
    if not resolution.strip():
        raise LeeridError("--resolution is required: say what was corrected or why not")
    with session_scope(engine) as session:
        row = find_report(session, report_id)
        if row is None:
            raise NotFoundError(
                f"no data-quality report {report_id!r}; give its code as `leerid reports list` "
                "shows it (e.g. DQ-7K3M)"
            )
        if row.status == "gesloten":
            raise LeeridError(f"report {row.code} is closed already")
        row.status = "gesloten"
        row.resolution = resolution.strip()
        row.closed_at = dt.datetime.now(dt.UTC)
        row.closed_by = closed_by
        session.flush()
        if row.source == "client" and row.client_id is not None:
            # Art. 7: the reporting client hears the status (issue 10, point 3).
            note_report_status(
                session,
                client_id=row.client_id,
                code=row.code,
                status=row.status,
                resolution=row.resolution,
                closed_at=row.closed_at,
            )
        if then is not None:
            then(session, row)
        return view_of(row)


def statuses_for(engine: Engine, client_id: str, ids: list[str]) -> list[ReportView]:
    """The reports of ``client_id`` among ``ids`` (never another client's)."""
    with session_scope(engine) as session:
        rows = session.scalars(
            select(QualityReportRow).where(
                QualityReportRow.client_id == client_id,
                or_(QualityReportRow.code.in_(ids[:500]), QualityReportRow.id.in_(ids[:500])),
            )
        )
        return [view_of(r) for r in rows]
