"""Alerts about DOV's transparency log, with their evidence, to both DPOs (art. 9).

Issue 12 §3: "An inconsistent checkpoint, a missing inclusion or a bad signature raises an
alert to both DPOs (art. 9 workflow) and is kept as evidence." An alert is kept first (in
the witness's transaction, with the notes, proofs and entries that show the problem), then
delivered: e-mailed to our DPO (``[log] alert_to``), and sent to DOV as a ``logboek``
notice, which ``notices`` posts to ``POST /op/v1/notices`` and e-mails to DOV's DPO. A
delivery that fails is retried by the next witness round; the alert is never lost.

One problem is one alert: the witness meets the same forked checkpoint every round, so an
alert is keyed by a fingerprint of what it is about and a repeat only counts. Whether it is
also a breach (GDPR art. 33: integrity) is the DPO's decision, not the kit's: the text
proposes it, ``leerid sp breaches add`` records it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from leerid.errors import NotFoundError
from leerid.sp.kit import privacy_log
from leerid.sp.kit.breaches import MailError, send_mail
from leerid.sp.kit.log_tables import LogAlert
from leerid.sp.kit.models import SentNotice
from leerid.sp.kit.notices import LOG_KIND, TEXT_LIMIT, attempt_delivery
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.relying_party import RelyingParty
from leerid.store.engine import session_scope

__all__ = [
    "KINDS",
    "AlertView",
    "deliver_alerts",
    "get_alert",
    "keep_alert",
    "list_alerts",
]

KINDS = {
    "handtekening": "de handtekening van het Departement op een checkpoint klopt niet",
    "inconsistent": "het logboek bouwt niet verder op het checkpoint dat we eerder zagen",
    "ontbrekend": "een mededeling die we ontvingen staat niet (bewijsbaar) in het logboek",
    "afwijkend": "het logboek beschrijft een mededeling anders dan we ze ontvingen",
    "onbereikbaar": "het logboek antwoordt langer dan [log] stale niet volledig",
}
"""Issue 12 §3: what the witness can find wrong, in the words the DPOs read."""

BREACH_ADVICE = (
    "Een logboek dat niet klopt kan wijzen op een inbreuk op de integriteit van de gegevens "
    "(AVG art. 33). Overleg met de DPO van het Departement (protocol art. 9) en beslis of dit "
    "een gegevenslek is; zo ja, registreer het met `leerid sp breaches add` (de 72 uur lopen "
    "vanaf de vaststelling)."
)


@dataclass(frozen=True)
class AlertView:
    """An alert as the DPO reads it: what, when, how often, the evidence, its delivery."""

    id: int
    kind: str
    raised_at: dt.datetime
    last_seen_at: dt.datetime
    times_seen: int
    summary: str
    evidence: dict[str, Any]
    dpo_mailed_at: dt.datetime | None
    notice_id: int | None
    delivery_error: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "raised_at": self.raised_at.isoformat(),
            "last_seen_at": self.last_seen_at.isoformat(),
            "times_seen": self.times_seen,
            "summary": self.summary,
            "evidence": self.evidence,
            "dpo_mailed_at": self.dpo_mailed_at.isoformat() if self.dpo_mailed_at else None,
            "notice_id": self.notice_id,
            "delivery_error": self.delivery_error,
        }


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)  # SQLite keeps no offset; we write UTC


def _view(row: LogAlert) -> AlertView:
    return AlertView(
        id=row.id,
        kind=row.kind,
        raised_at=_aware(row.raised_at) or row.raised_at,
        last_seen_at=_aware(row.last_seen_at) or row.last_seen_at,
        times_seen=row.times_seen,
        summary=row.summary,
        evidence=json.loads(row.evidence),
        dpo_mailed_at=_aware(row.dpo_mailed_at),
        notice_id=row.notice_id,
        delivery_error=row.delivery_error,
    )


def keep_alert(
    session: Session, kind: str, about: str, summary: str, evidence: Mapping[str, Any]
) -> tuple[int, bool]:
    """Keep an alert in the caller's transaction: a new one (and its privacy-log line), or
    the one already kept about the same thing (``about``: e.g. the sizes and roots), seen
    once more. Returns its id and whether it is new."""
    if kind not in KINDS:
        raise ValueError(f"unknown alert kind {kind!r}")
    now = dt.datetime.now(dt.UTC)
    fingerprint = hashlib.sha256(f"{kind}\n{about}".encode()).hexdigest()
    row = session.scalars(select(LogAlert).where(LogAlert.fingerprint == fingerprint)).first()
    if row is not None:
        row.times_seen += 1
        row.last_seen_at = now
        return row.id, False
    row = LogAlert(
        kind=kind,
        fingerprint=fingerprint,
        raised_at=now,
        last_seen_at=now,
        times_seen=1,
        summary=summary,
        evidence=json.dumps(dict(evidence), sort_keys=True),
    )
    session.add(row)
    session.flush()
    privacy_log.append(
        session,
        actor="witness",
        action="logboek_alarm",
        purpose="art. 9: alarm over het logboek van het Departement, bewijs bewaard",
        detail={"alarm": row.id, "soort": kind},
    )
    return row.id, True


def _text(alert: AlertView, client_id: str) -> str:
    """The alert in words both DPOs read (no pupil: hashes, sizes and claim names only)."""
    lines = [
        f"Alarm nr. {alert.id} over het transparantielogboek van het Departement (protocol art. 9)",
        f"Van: {client_id} (dienstenleverancier, getuige van het logboek)",
        f"Vastgesteld op: {alert.raised_at.isoformat(timespec='seconds')}",
        f"Soort: {alert.kind}: {KINDS[alert.kind]}",
        "",
        alert.summary,
        "",
        "Het bewijs (checkpoints, bewijzen, entries) is bewaard bij de dienstenleverancier.",
        BREACH_ADVICE,
    ]
    return "\n".join(lines)[:TEXT_LIMIT]


def _undelivered(engine: Engine) -> list[tuple[AlertView, SentNotice | None]]:
    with session_scope(engine) as session:
        rows = session.execute(
            select(LogAlert, SentNotice)
            .outerjoin(SentNotice, SentNotice.id == LogAlert.notice_id)
            .where(
                or_(
                    LogAlert.dpo_mailed_at.is_(None),
                    LogAlert.notice_id.is_(None),
                    SentNotice.remote_id.is_(None),
                    SentNotice.mailed_at.is_(None),
                )
            )
            .order_by(LogAlert.id)
        ).all()
        for _, notice in rows:
            if notice is not None:
                session.expunge(notice)
        return [(_view(alert), notice) for alert, notice in rows]


def _notice_for(provider: ServiceProvider, alert: AlertView) -> int:
    """The ``logboek`` notice of ``alert``, kept before it travels (art. 9)."""
    with session_scope(provider.engine) as session:
        notice = SentNotice(
            kind=LOG_KIND,
            text=_text(alert, provider.settings.client_id),
            processors=None,
            created_by="witness",
            created_at=dt.datetime.now(dt.UTC),
        )
        session.add(notice)
        session.flush()
        row = session.get(LogAlert, alert.id)
        assert row is not None
        row.notice_id = notice.id
        return notice.id


def _mark(provider: ServiceProvider, alert_id: int, mailed: bool, problems: list[str]) -> None:
    with session_scope(provider.engine) as session:
        row = session.get(LogAlert, alert_id)
        assert row is not None
        if mailed and row.dpo_mailed_at is None:
            row.dpo_mailed_at = dt.datetime.now(dt.UTC)
        row.delivery_error = "; ".join(problems)[:400] or None


async def _deliver_one(
    provider: ServiceProvider, rp: RelyingParty, alert: AlertView, notice: SentNotice | None
) -> list[str]:
    """E-mail our DPO and send DOV the notice, whichever is still to do."""
    problems: list[str] = []
    settings = provider.settings
    mailed = alert.dpo_mailed_at is not None
    if not mailed:
        subject = f"[logboek] alarm {alert.id}: {alert.kind} (protocol art. 9)"
        body = _text(alert, settings.client_id) + "\n\n`leerid sp log alerts` toont het bewijs.\n"
        try:
            to = settings.log.alert_to
            await asyncio.to_thread(send_mail, settings.mail, subject, body, to)
            mailed = True
        except MailError as exc:
            problems.append(f"the e-mail to our DPO failed: {exc.message}")
    notice_id = notice.id if notice is not None else None
    if notice_id is None:
        notice_id = await asyncio.to_thread(_notice_for, provider, alert)
    if notice is None or notice.remote_id is None or notice.mailed_at is None:
        _, failed = await attempt_delivery(provider, rp, notice_id)
        problems += [f"notice {notice_id} to DOV: {problem}" for problem in failed]
    await asyncio.to_thread(_mark, provider, alert.id, mailed, problems)
    return problems


async def deliver_alerts(provider: ServiceProvider, rp: RelyingParty) -> list[str]:
    """Art. 9: every alert not yet with both DPOs goes out now; what failed (retried by the
    next round, or by `leerid sp notices resend N` for the notice)."""
    problems: list[str] = []
    for alert, notice in await asyncio.to_thread(_undelivered, provider.engine):
        problems += [
            f"alert {alert.id}: {p}" for p in await _deliver_one(provider, rp, alert, notice)
        ]
    return problems


def list_alerts(engine: Engine) -> list[AlertView]:
    """Every alert, newest first."""
    with session_scope(engine) as session:
        rows = session.scalars(select(LogAlert).order_by(LogAlert.id.desc())).all()
        return [_view(row) for row in rows]


def get_alert(engine: Engine, alert_id: int) -> AlertView:
    with session_scope(engine) as session:
        row = session.get(LogAlert, alert_id)
        if row is None:
            raise NotFoundError(f"no log alert {alert_id}; `leerid sp log alerts` lists them")
        return _view(row)
