"""What needs the DPO's attention, for the DPO's home page.

Art. 9 / GDPR art. 33: open breaches and their 72-hour clock; art. 7: data-quality reports
the Department has not answered; art. 6: the transparency log's alerts (evidence kept for the
DPO) and members of staff who may not see pupil data yet because a confidentiality or
training date is missing; art. 6 again: the privacy log's chain and today's reads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from leerid.protocol.lifecycle import BRUSSELS
from leerid.sp.kit import breaches, log_alerts
from leerid.sp.kit.breaches import BreachView
from leerid.sp.kit.dpo_usage import VIEW_ACTIONS
from leerid.sp.kit.dpo_views import start_of
from leerid.sp.kit.models import PrivacyLogEntry, QualityReport
from leerid.sp.kit.need_to_know import missing_bonds
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.quality_reports import CLOSED
from leerid.sp.kit.staff import list_staff
from leerid.store.engine import session_scope

ALERT_DAYS = 30
"""The transparency log's alerts of the last 30 days count as needing attention."""


@dataclass(frozen=True)
class Attention:
    open_breaches: list[BreachView]
    overdue_breaches: int
    reports_waiting: int
    reports_not_sent: int
    alerts_recent: int
    alerts_undelivered: int
    unbound_staff: list[str]
    views_today: int

    @property
    def items(self) -> int:
        """How many kinds of things need the DPO now (the page's heading)."""
        return sum(
            bool(n)
            for n in (
                self.open_breaches,
                self.reports_waiting + self.reports_not_sent,
                self.alerts_recent + self.alerts_undelivered,
                self.unbound_staff,
            )
        )


def attention(provider: ServiceProvider, now: dt.datetime | None = None) -> Attention:
    """Art. 6, 7, 9: the figures for the DPO's home, each with the page that holds them."""
    now = now or dt.datetime.now(dt.UTC)
    open_ones = [
        b for b in breaches.list_breaches(provider.engine, now) if b.breach.status != "afgesloten"
    ]
    open_ones.sort(key=lambda b: b.clock.deadline)
    alerts = log_alerts.list_alerts(provider.engine)
    since = now - dt.timedelta(days=ALERT_DAYS)
    unbound = [a.username for a in list_staff(provider.engine) if a.active and missing_bonds(a)]
    with session_scope(provider.engine) as session:
        reports = dict(
            session.execute(
                select(QualityReport.status, func.count())
                .where(QualityReport.status.not_in(CLOSED))
                .group_by(QualityReport.status)
            ).all()
        )
        views = session.scalar(
            select(func.count()).where(
                PrivacyLogEntry.action.in_(VIEW_ACTIONS),
                PrivacyLogEntry.at >= start_of(now.astimezone(BRUSSELS).date()),
            )
        )
    not_sent = int(reports.pop("niet_verzonden", 0))
    return Attention(
        open_breaches=open_ones,
        overdue_breaches=sum(1 for b in open_ones if b.clock.overdue and b.breach.status == "open"),
        reports_waiting=int(sum(reports.values())),
        reports_not_sent=not_sent,
        alerts_recent=sum(1 for a in alerts if a.last_seen_at >= since),
        alerts_undelivered=sum(1 for a in alerts if a.dpo_mailed_at is None),
        unbound_staff=sorted(unbound),
        views_today=int(views or 0),
    )
