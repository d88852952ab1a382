"""Art. 7: the Department's store of data-quality reports received from service providers.

A service provider that finds a wrong, inaccurate, incomplete, missing, outdated or superfluous
attribute reports it at once in writing: ``POST /op/v1/quality-reports`` (client-
authenticated as at the token endpoint). The Department's DPO lists and closes reports
(``leerid reports list|close``); the provider reads the status back
(``POST /op/v1/quality-reports/status``). Both sides keep the report and its status.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass

from sqlalchemy import DateTime, Engine, String, Text, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from leerid.errors import LeeridError, NotFoundError
from leerid.idp.store.event_sources import note_report_status
from leerid.idp.store.report_codes import new_code, normalise_code
from leerid.store.base import Base
from leerid.store.engine import session_scope

__all__ = [
    "ATTRIBUTES",
    "PROBLEMS",
    "QualityReportRow",
    "ReportView",
    "check_report",
    "close_report",
    "find_report",
    "list_reports",
    "statuses_for",
    "store_report",
]

_INSZ_LIKE = re.compile(r"(?<!\d)\d{2}[.\s-]?\d{2}[.\s-]?\d{2}[.\s-]?\d{3}[.\s-]?\d{2}(?!\d)")
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


class QualityReportRow(Base):
    """Art. 7: one report received from a service provider, with its status."""

    __tablename__ = "idp_quality_report"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True, index=True)  # "DQ-7K3M"
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    pupil_key: Mapped[str] = mapped_column(String(36), index=True)
    attribute: Mapped[str] = mapped_column(String(40))
    problem: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    resolution: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[str | None] = mapped_column(String(80))


@dataclass(frozen=True)
class ReportView:
    id: str  # internal; people and the service provider use the code
    code: str
    client_id: str
    pupil_key: str
    attribute: str
    problem: str
    comment: str
    status: str
    resolution: str | None
    received_at: dt.datetime
    closed_at: dt.datetime | None

    def as_json(self) -> dict[str, str | None]:
        return {
            "id": self.code,
            "client_id": self.client_id,
            "pupil_key": self.pupil_key,
            "attribute": self.attribute,
            "problem": self.problem,
            "comment": self.comment,
            "status": self.status,
            "resolution": self.resolution,
            "received_at": self.received_at.isoformat(),
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
        }


def _view(row: QualityReportRow) -> ReportView:
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
    if _INSZ_LIKE.search(comment):  # art. 3: no INSZ travels in a free-text comment
        return "comment contains what looks like a national register number; leave it out"
    return None


def store_report(
    engine: Engine, client_id: str, pupil_key: str, attribute: str, problem: str, comment: str
) -> ReportView:
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
                )
                session.add(row)
                session.flush()
                return _view(row)
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


def list_reports(engine: Engine, status: str | None = None) -> list[ReportView]:
    """The reports, newest first; ``status`` filters (open, gesloten)."""
    if status is not None and status not in STATUSES:
        raise LeeridError(f"--status {status!r}: use one of " + ", ".join(STATUSES))
    stmt = select(QualityReportRow).order_by(QualityReportRow.received_at.desc())
    if status:
        stmt = stmt.where(QualityReportRow.status == status)
    with session_scope(engine) as session:
        return [_view(r) for r in session.scalars(stmt)]


def close_report(engine: Engine, report_id: str, resolution: str, closed_by: str) -> ReportView:
    """Art. 7: the Department's DPO closes a report, saying what was done."""
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
        # Art. 7: the reporting client hears the status (issue 10, point 3).
        note_report_status(
            session,
            client_id=row.client_id,
            code=row.code,
            status=row.status,
            resolution=row.resolution,
            closed_at=row.closed_at,
        )
        return _view(row)


def statuses_for(engine: Engine, client_id: str, ids: list[str]) -> list[ReportView]:
    """The reports of ``client_id`` among ``ids`` (never another client's)."""
    with session_scope(engine) as session:
        rows = session.scalars(
            select(QualityReportRow).where(
                QualityReportRow.client_id == client_id,
                or_(QualityReportRow.code.in_(ids[:500]), QualityReportRow.id.in_(ids[:500])),
            )
        )
        return [_view(r) for r in rows]
