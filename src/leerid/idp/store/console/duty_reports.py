"""The console's reads and acts on data-quality reports (art. 7) and notices (art. 6, 9).

A report names a pupil by key and may carry a pupil's own words: listing them is a read of
pupil data, written in the staff privacy log (art. 6) with the number shown; closing one or
sending one to a recipient is logged with its pupil key. Notices carry no pupil data.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from leerid.idp.store.clients import list_clients
from leerid.idp.store.console import staff_log
from leerid.idp.store.notices import (
    NoticeView,
    ProcessorRequestView,
    acknowledge_notice,
    list_notices,
    list_processor_requests,
    request_processors,
)
from leerid.idp.store.quality_reports import (
    QualityReportRow,
    ReportView,
    close_report,
    list_reports,
)
from leerid.idp.store.report_directions import add_dov_report

__all__ = [
    "Notices",
    "acknowledge",
    "ask_processors",
    "close",
    "notices",
    "reports",
    "send_report",
]


def reports(engine: Engine, actor: str, status: str | None, source: str | None) -> list[ReportView]:
    """Art. 7: the reports, newest first; art. 6: the read is logged (how many, which filter)."""
    found = list_reports(engine, status, source)
    detail = {"aantal": len(found), "status": status or "alle", "bron": source or "alle"}
    staff_log.record(
        engine,
        actor=actor,
        action="meldingen_ingezien",
        purpose="art. 7: meldingen over gegevenskwaliteit behandelen",
        detail=detail,
    )
    return found


def close(engine: Engine, actor: str, code: str, resolution: str) -> ReportView:
    """Art. 7: a received report closed with what was done; logged with its pupil key in
    the same transaction (art. 6: no close without its entry)."""

    def log(session: Session, row: QualityReportRow) -> None:
        staff_log.append(
            session,
            actor=actor,
            action="melding_gesloten",
            purpose="art. 7: melding over gegevenskwaliteit afgehandeld",
            pupil_key=row.pupil_key,
            detail={"melding": row.code},
        )

    return close_report(engine, code, resolution, actor, then=log)


def send_report(
    engine: Engine,
    actor: str,
    *,
    client_id: str,
    pupil_key: str,
    attribute: str,
    problem: str,
    comment: str,
) -> ReportView:
    """Art. 7: DOV tells a recipient that got the data (art. 4) that it is wrong; logged in
    the same transaction (art. 6: no report sent without its entry)."""

    def log(session: Session, row: QualityReportRow) -> None:
        staff_log.append(
            session,
            actor=actor,
            action="melding_verstuurd",
            purpose="art. 7: foutief gegeven gemeld aan de ontvanger",
            pupil_key=pupil_key,
            detail={"melding": row.code, "client": client_id},
        )

    return add_dov_report(
        engine,
        client_id=client_id,
        pupil_key=pupil_key,
        attribute=attribute,
        problem=problem,
        comment=comment,
        operator=actor,
        then=log,
    )


@dataclass(frozen=True)
class Notices:
    """Art. 9 notices from recipients, DOV's requests for processor lists (art. 6), clients."""

    notices: list[NoticeView]
    requests: list[ProcessorRequestView]
    clients: list[tuple[str, str]]  # (client id, name), for the request form


def notices(engine: Engine) -> Notices:
    clients = [(c.client_id, c.name) for c in list_clients(engine) if not c.disabled]
    return Notices(list_notices(engine), list_processor_requests(engine), clients)


def acknowledge(engine: Engine, actor: str, notice_id: str) -> NoticeView:
    """Art. 9: DOV's DPO acknowledges a notice; the recipient hears of it."""
    return acknowledge_notice(engine, notice_id, actor)


def ask_processors(engine: Engine, actor: str, client_id: str) -> ProcessorRequestView:
    """Art. 6: DOV asks a recipient for its current list of processors."""
    return request_processors(engine, client_id, actor)
