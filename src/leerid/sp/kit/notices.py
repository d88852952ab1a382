"""Art. 9 and art. 6: the notices we send the Department, and the processor lists exchanged.

Art. 9: "De Dienstenleverancier brengt DOV onmiddellijk op de hoogte van wijzigingen van
wetgeving met impact op voorliggend protocol [...] en in voorkomend geval van wijzigingen
omtrent de verwerkers." ``leerid sp notices send --kind wetgeving|verwerkers --text …`` keeps
the notice, posts it to ``POST /op/v1/notices`` (client-authenticated) and e-mails it to DOV's
DPO (``[dov] dpo_email``); a ``verwerkers`` notice carries our ``[[processors]]`` and answers
DOV's open requests for the list. Art. 6: "Partijen bezorgen elkaar een overzicht van de
verwerkers": DOV's request arrives as a ``processor-list-requested`` SET
(``apply_processor_request``), its acknowledgement of a notice as ``notice-acknowledged``
(``apply_notice_ack``); we ask for DOV's list with ``dov_processors``. Art. 4: "Elke eventuele
mededeling [...] moet voorafgaandelijk aan DOV worden gemeld": a ``doorgifte`` notice (kept by
``leerid sp onward notify``, see ``onward``) carries the onward recipient; once DOV received
it or its DPO was e-mailed, the recipient counts as notified.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from leerid.errors import LeeridError, NotFoundError
from leerid.sp.kit.breaches import MailError, send_mail
from leerid.sp.kit.free_text import refuse_insz
from leerid.sp.kit.models import OnwardRecipient, ProcessorRequest, SentNotice
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.quality_reports import endpoint
from leerid.sp.kit.relying_party import RelyingParty
from leerid.store.engine import session_scope

__all__ = [
    "KINDS",
    "LOG_KIND",
    "NOTICE_ACK_EVENT",
    "ONWARD_KIND",
    "PROCESSOR_REQUEST_EVENT",
    "Delivery",
    "apply_notice_ack",
    "apply_processor_request",
    "attempt_delivery",
    "deliver",
    "dov_processors",
    "list_notices",
    "send_notice",
]

KINDS = ("wetgeving", "verwerkers")
"""What ``notices send`` sends; a ``doorgifte`` notice is sent by ``onward notify`` only, a
``logboek`` notice by the witness of DOV's transparency log (``log_alerts``)."""
ONWARD_KIND = "doorgifte"
LOG_KIND = "logboek"
PROCESSOR_REQUEST_EVENT = "urn:leerid:event:processor-list-requested"
NOTICE_ACK_EVENT = "urn:leerid:event:notice-acknowledged"
TEXT_LIMIT = 4000
_SUBJECTS = {
    "wetgeving": "Melding wijziging wetgeving met impact op het protocol (art. 9)",
    "verwerkers": "Melding wijziging verwerkers (art. 9, art. 6)",
    ONWARD_KIND: "Voorafgaande melding van een mededeling aan een derde (art. 4)",
    LOG_KIND: "Alarm over het transparantielogboek van het Departement (art. 9)",
}


@dataclass(frozen=True)
class Delivery:
    """What became of a notice: our number, DOV's id, whether the DPO was e-mailed."""

    notice_id: int
    remote_id: str | None
    mailed: bool
    answered_requests: int


def _moment(value: Any) -> dt.datetime:
    moment = dt.datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _keep(provider: ServiceProvider, kind: str, text: str, actor: str) -> int:
    """Check and keep the notice before it travels (so a failed delivery can be re-sent)."""
    if kind not in KINDS:
        raise LeeridError(f"--kind {kind!r}: use one of " + ", ".join(KINDS))
    text = text.strip()
    if not text:
        raise LeeridError("--text is required: say what changed and from when")
    if len(text) > TEXT_LIMIT:
        raise LeeridError(f"--text is longer than {TEXT_LIMIT} characters; make it shorter")
    refuse_insz(text, "text")
    settings = provider.settings
    processors = None
    if kind == "verwerkers":
        if settings.processors and not settings.processor_list:
            raise LeeridError(
                f"{settings.path}: describe each processor as a [[processors]] table (name, "
                "purpose, location, since) before sending a verwerkers notice"
            )
        processors = json.dumps([p.as_json() for p in settings.processor_list])
    with session_scope(provider.engine) as session:
        notice = SentNotice(
            kind=kind,
            text=text,
            processors=processors,
            created_by=actor,
            created_at=dt.datetime.now(dt.UTC),
        )
        session.add(notice)
        session.flush()
        return notice.id


def onward_recipient(session: Session, notice_id: int) -> dict[str, str] | None:
    """Art. 4: the recipient a ``doorgifte`` notice announces (name, kbo, purpose, basis)."""
    row = session.scalars(
        select(OnwardRecipient).where(OnwardRecipient.notice_id == notice_id)
    ).first()
    if row is None:
        return None
    return {
        "name": row.name,
        "kbo": row.kbo,
        "purpose": row.purpose,
        "legal_basis": row.legal_basis,
    }


def _body(notice: SentNotice, client_id: str, onward: dict[str, str] | None) -> str:
    lines = [
        _SUBJECTS[notice.kind],
        f"Van: {client_id} (dienstenleverancier), melding nr. {notice.id}",
        f"Datum: {notice.created_at.isoformat(timespec='minutes')}",
        "",
        notice.text,
    ]
    for p in json.loads(notice.processors) if notice.processors is not None else []:
        lines.append(f"- {p['name']}: {p['purpose']} ({p['location']}, sinds {p['since']})")
    if onward is not None:
        lines += [
            "",
            f"Ontvanger: {onward['name']} (KBO {onward['kbo']})",
            f"Doel: {onward['purpose']}",
            f"Rechtsgrond: {onward['legal_basis']}",
        ]
    return "\n".join(lines) + "\n"


async def _post(
    rp: RelyingParty, notice: SentNotice, onward: dict[str, str] | None
) -> dict[str, Any]:
    form = {"kind": notice.kind, "text": notice.text}
    if notice.processors is not None:
        form["processors"] = notice.processors
    if onward is not None:
        form["onward_recipient"] = json.dumps(onward, ensure_ascii=False)
    try:
        response = await rp.post_authenticated(await endpoint(rp, "notices"), form)
    except httpx.HTTPError as exc:
        raise LeeridError(f"DOV cannot be reached ({exc})") from None
    if response.status_code != 201:
        try:
            reason = str(response.json().get("error_description", ""))
        except ValueError:
            reason = response.text[:200]
        raise LeeridError(f"DOV refused the notice ({response.status_code}: {reason})")
    data: dict[str, Any] = response.json()
    return data


def _sent(
    provider: ServiceProvider, notice_id: int, answers: bool, at: dt.datetime, **values: Any
) -> None:
    """Record a delivery; a ``verwerkers`` notice that reached DOV answers its requests; the
    recipient of a ``doorgifte`` notice is notified from the first delivery (art. 4)."""
    with session_scope(provider.engine) as session:
        session.execute(update(SentNotice).where(SentNotice.id == notice_id).values(**values))
        session.execute(
            update(OnwardRecipient)
            .where(OnwardRecipient.notice_id == notice_id, OnwardRecipient.notified_at.is_(None))
            .values(notified_at=at)
        )
        if answers:
            session.execute(
                update(ProcessorRequest)
                .where(ProcessorRequest.answered_by.is_(None))
                .values(answered_by=notice_id)
            )


def _load(provider: ServiceProvider, notice_id: int) -> tuple[SentNotice, dict[str, str] | None]:
    with session_scope(provider.engine) as session:
        notice = session.get(SentNotice, notice_id)
        if notice is None:
            raise NotFoundError(f"no notice {notice_id}; `leerid sp notices list` shows them")
        session.expunge(notice)
        return notice, onward_recipient(session, notice_id)


async def attempt_delivery(
    provider: ServiceProvider, rp: RelyingParty, notice_id: int
) -> tuple[Delivery, list[str]]:
    """Post the notice to DOV and e-mail DOV's DPO, whichever is still to do (art. 9: both);
    what was delivered, and what went wrong (nothing when both are done)."""
    notice, onward = await asyncio.to_thread(_load, provider, notice_id)
    problems, answered = [], 0
    remote_id = notice.remote_id
    if remote_id is None:
        try:
            data = await _post(rp, notice, onward)
            remote_id, answered = str(data["id"]), int(data.get("answered_requests", 0))
            now = dt.datetime.now(dt.UTC)
            answers = notice.kind == "verwerkers"
            await asyncio.to_thread(
                _sent, provider, notice_id, answers, now, remote_id=remote_id, sent_at=now
            )
        except LeeridError as exc:
            problems.append(exc.message)
    mailed = notice.mailed_at is not None
    if not mailed:
        to = provider.settings.dov_dpo_email
        try:
            if not to:
                raise MailError(f"{provider.settings.path}: set [dov] dpo_email")
            body = _body(notice, provider.settings.client_id, onward)
            mail = provider.settings.mail
            await asyncio.to_thread(send_mail, mail, _SUBJECTS[notice.kind], body, to)
            now = dt.datetime.now(dt.UTC)
            await asyncio.to_thread(_sent, provider, notice_id, False, now, mailed_at=now)
            mailed = True
        except MailError as exc:
            problems.append(f"the e-mail to DOV's DPO failed: {exc.message}")
    return Delivery(notice_id, remote_id, mailed, answered), problems


async def deliver(provider: ServiceProvider, rp: RelyingParty, notice_id: int) -> Delivery:
    """``attempt_delivery``; an error saying what failed and how to re-send, unless both went."""
    delivery, problems = await attempt_delivery(provider, rp, notice_id)
    if problems:
        raise LeeridError(
            f"notice {notice_id} was kept but not fully delivered: "
            + "; ".join(problems)
            + f"; fix it and run `leerid sp notices resend {notice_id}`"
        )
    return delivery


async def send_notice(
    provider: ServiceProvider, rp: RelyingParty, kind: str, text: str, actor: str
) -> Delivery:
    """Art. 9: keep the notice, then tell DOV over HTTP and its DPO by e-mail, at once."""
    notice_id = await asyncio.to_thread(_keep, provider, kind, text, actor)
    return await deliver(provider, rp, notice_id)


def apply_processor_request(
    session: Session, claims: Mapping[str, Any], event: Mapping[str, Any]
) -> None:
    """Art. 6: DOV asks for our processor list; pending until a ``verwerkers`` notice answers
    (in the caller's transaction; the same SET twice is one request)."""
    txn = str(claims.get("txn") or "") or None
    if txn and session.scalar(select(ProcessorRequest.id).where(ProcessorRequest.txn == txn)):
        return
    session.add(
        ProcessorRequest(
            txn=txn,
            requested_at=_moment(event["requested_at"]),
            received_at=dt.datetime.now(dt.UTC),
        )
    )
    session.flush()


def apply_notice_ack(session: Session, claims: Mapping[str, Any], event: Mapping[str, Any]) -> None:
    """Art. 9: DOV acknowledged our notice ``notice_id`` (its id); an unknown one is ignored
    (a notice sent by another installation of this client)."""
    notice = session.scalars(
        select(SentNotice).where(SentNotice.remote_id == str(event["notice_id"]))
    ).first()
    if notice is not None and notice.acknowledged_at is None:
        notice.acknowledged_at = _moment(event["acknowledged_at"])
        session.flush()


def list_notices(provider: ServiceProvider) -> tuple[list[SentNotice], list[ProcessorRequest]]:
    """Our notices (newest first) and DOV's requests for our processor list."""
    with session_scope(provider.engine) as session:
        notices = list(session.scalars(select(SentNotice).order_by(SentNotice.id.desc())))
        requests = list(
            session.scalars(select(ProcessorRequest).order_by(ProcessorRequest.id.desc()))
        )
        return notices, requests


async def dov_processors(rp: RelyingParty) -> list[dict[str, str]]:
    """Art. 6: DOV's current processor list (``POST /op/v1/notices/processors``)."""
    try:
        response = await rp.post_authenticated(await endpoint(rp, "notices") + "/processors", {})
    except httpx.HTTPError as exc:
        raise LeeridError(f"DOV cannot be reached ({exc}); try again later") from None
    try:
        data = response.json()
    except ValueError:
        data = {}
    if response.status_code != 200:
        reason = str(data.get("error_description", "")) or response.text[:200]
        raise LeeridError(f"DOV did not give its processor list ({response.status_code}: {reason})")
    return [dict(p) for p in data.get("processors", [])]
