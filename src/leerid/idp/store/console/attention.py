"""What the console's start page says needs attention (issue 13): the last registry import,
open data-quality reports and DOV's open breaches; small counts, each one indexed query."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from leerid.idp.store.console_tables import DovBreach
from leerid.idp.store.quality_reports import QualityReportRow
from leerid.registry.models import ImportRun

__all__ = ["Attention", "LastImport", "attention"]


@dataclass(frozen=True)
class LastImport:
    """The newest import run: when, how it ended, how many lines were refused."""

    id: int
    started_at: dt.datetime
    outcome: str
    rejects: int


@dataclass(frozen=True)
class Attention:
    last_import: LastImport | None
    open_reports: int
    open_breaches: int


def attention(engine: Engine) -> Attention:
    """The start page's figures."""
    with engine.connect() as conn:
        row = conn.execute(
            select(ImportRun.id, ImportRun.started_at, ImportRun.outcome, ImportRun.rejects)
            .order_by(ImportRun.started_at.desc(), ImportRun.id.desc())
            .limit(1)
        ).first()
        reports = conn.scalar(
            select(func.count())
            .select_from(QualityReportRow)
            .where(QualityReportRow.status == "open")
        )
        breaches = conn.scalar(
            select(func.count()).select_from(DovBreach).where(DovBreach.status != "afgesloten")
        )
    last = None if row is None else LastImport(row.id, row.started_at, row.outcome, row.rejects)
    return Attention(last, int(reports or 0), int(breaches or 0))
