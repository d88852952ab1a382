"""The breach register (art. 9, GDPR art. 33): record, 72-hour clock, notify the other DPO."""

from __future__ import annotations

import datetime as dt
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy import Engine, select

from leerid.errors import LeeridError, NotFoundError
from leerid.sp.kit import privacy_log
from leerid.sp.kit.free_text import refuse_insz
from leerid.sp.kit.models import Breach, BreachUpdate
from leerid.sp.kit.settings import MailSettings
from leerid.store.engine import session_scope

WINDOW = dt.timedelta(hours=72)  # GDPR art. 33.1: to the authority within 72 hours
STATUSES = ("open", "gemeld", "afgesloten")


def _aware(moment: dt.datetime) -> dt.datetime:
    """In UTC: SQLite keeps a moment's wall time without its offset, so a moment in Belgian
    time (the breach form's) must be converted before it is stored."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


@dataclass(frozen=True)
class BreachClock:
    deadline: dt.datetime
    hours_left: float
    overdue: bool


def breach_clock(discovered_at: dt.datetime, now: dt.datetime) -> BreachClock:
    """GDPR art. 33.1: the 72 hours run from the moment the breach was discovered."""
    deadline = _aware(discovered_at) + WINDOW
    left = (deadline - now).total_seconds() / 3600
    return BreachClock(deadline=deadline, hours_left=round(left, 1), overdue=left < 0)


class MailError(LeeridError):
    """The notification could not be sent; the breach stays recorded and can be re-sent."""


def send_mail(mail: MailSettings, subject: str, body: str, to: str | None = None) -> None:
    """Art. 9: notify the other party's DPO by e-mail (``to``, default [mail] other_party_dpo)."""
    to = to or mail.other_party_dpo
    if not to:
        raise MailError(
            "no [mail] other_party_dpo in the configuration: set the address of the other "
            "party's DPO, then run `leerid sp breaches update ID --notify`"
        )
    message = EmailMessage()
    message["From"] = mail.sender
    message["To"] = to
    message["Subject"] = subject
    # RFC 5322 section 3.6: an origination date is required, a Message-ID expected
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=mail.sender.rpartition("@")[2] or None)
    message.set_content(body)
    try:
        with smtplib.SMTP(mail.smtp_host, mail.smtp_port, timeout=15) as smtp:
            if mail.starttls:
                smtp.starttls()
            if mail.username:
                smtp.login(mail.username, mail.password())
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(
            f"cannot send the notification through {mail.smtp_host}:{mail.smtp_port} ({exc}); "
            "the breach is recorded: fix [mail] and run `leerid sp breaches update ID --notify`"
        ) from None


def _body(breach: Breach, updates: list[BreachUpdate], now: dt.datetime) -> str:
    clock = breach_clock(breach.discovered_at, now)
    lines = [
        f"Gegevenslek nr. {breach.id} (protocol art. 9, AVG art. 33)",
        f"Vastgesteld op: {_aware(breach.discovered_at).isoformat(timespec='minutes')}",
        f"Termijn 72 uur verstrijkt: {clock.deadline.isoformat(timespec='minutes')}",
        f"Status: {breach.status}",
        f"Wat is er gebeurd: {breach.description}",
        f"Categorieën van gegevens: {breach.categories}",
        f"Aantal betrokken leerlingen: {breach.pupils_affected}",
        f"Genomen maatregelen: {breach.measures}",
    ]
    for update in updates:
        lines.append(f"Update {_aware(update.at).isoformat(timespec='minutes')}: {update.text}")
    return "\n".join(lines) + "\n"


def add_breach(
    engine: Engine,
    mail: MailSettings,
    *,
    actor: str,
    discovered_at: dt.datetime,
    description: str,
    categories: str,
    pupils_affected: int,
    measures: str,
    notify: bool = True,
) -> int:
    """Record a breach; notify the other DPO at once (art. 9). Returns the breach id."""
    now = dt.datetime.now(dt.UTC)
    if _aware(discovered_at) > now + dt.timedelta(minutes=5):
        raise LeeridError("--discovered lies in the future; give the moment it was discovered")
    if pupils_affected < 0:
        raise LeeridError("--pupils must be 0 or more")
    refuse_insz(description, "description")
    refuse_insz(categories, "categories")
    refuse_insz(measures, "measures")
    with session_scope(engine) as session:
        breach = Breach(
            discovered_at=_aware(discovered_at),
            recorded_at=now,
            description=description,
            categories=categories,
            pupils_affected=pupils_affected,
            measures=measures,
            status="open",
        )
        session.add(breach)
        session.flush()
        privacy_log.append(
            session,
            actor=actor,
            action="datalek_geregistreerd",
            purpose="art. 9: gegevenslek geregistreerd",
            detail={"datalek": breach.id},
        )
        breach_id = breach.id
    if notify:
        notify_other_party(engine, mail, breach_id, actor=actor)
    return breach_id


def notify_other_party(engine: Engine, mail: MailSettings, breach_id: int, *, actor: str) -> None:
    """Art. 9: send the breach as it stands now to the other party's DPO, and record it."""
    now = dt.datetime.now(dt.UTC)
    with session_scope(engine) as session:
        breach = session.get(Breach, breach_id)
        if breach is None:
            raise NotFoundError(f"no breach {breach_id}; see `leerid sp breaches list`")
        updates = list(
            session.scalars(
                select(BreachUpdate)
                .where(BreachUpdate.breach_id == breach_id)
                .order_by(BreachUpdate.id)
            )
        )
        subject = f"[{'Update ' if updates else ''}gegevenslek {breach.id}] melding art. 9 protocol"
        body = _body(breach, updates, now)
    send_mail(mail, subject, body)
    with session_scope(engine) as session:
        breach = session.get(Breach, breach_id)
        assert breach is not None
        if breach.other_party_notified_at is None:
            breach.other_party_notified_at = now
        for update in session.scalars(
            select(BreachUpdate).where(BreachUpdate.breach_id == breach_id)
        ):
            update.notified = True
        privacy_log.append(
            session,
            actor=actor,
            action="datalek_gemeld",
            purpose="art. 9: DPO van de andere partij ingelicht",
            detail={"datalek": breach_id},
        )


def update_breach(
    engine: Engine,
    mail: MailSettings,
    breach_id: int,
    *,
    actor: str,
    text: str | None = None,
    status: str | None = None,
    authority_notified: bool = False,
    notify: bool = False,
) -> None:
    """GDPR art. 33.4: add information in phases; optionally send it to the other DPO."""
    if status is not None and status not in STATUSES:
        raise LeeridError(f"--status {status!r}: use one of " + ", ".join(STATUSES))
    refuse_insz(text or "", "update")
    with session_scope(engine) as session:
        breach = session.get(Breach, breach_id)
        if breach is None:
            raise NotFoundError(f"no breach {breach_id}; see `leerid sp breaches list`")
        now = dt.datetime.now(dt.UTC)
        if text:
            session.add(BreachUpdate(breach_id=breach_id, at=now, text=text, notified=False))
        if status:
            breach.status = status
        if authority_notified and breach.authority_notified_at is None:
            breach.authority_notified_at = now
        privacy_log.append(
            session,
            actor=actor,
            action="datalek_bijgewerkt",
            purpose="art. 9: gefaseerde informatie",
            detail={"datalek": breach_id, "status": breach.status},
        )
    if notify:
        notify_other_party(engine, mail, breach_id, actor=actor)


@dataclass(frozen=True)
class BreachView:
    breach: Breach
    updates: list[BreachUpdate]
    clock: BreachClock


def list_breaches(engine: Engine, now: dt.datetime | None = None) -> list[BreachView]:
    now = now or dt.datetime.now(dt.UTC)
    with session_scope(engine) as session:
        views = []
        for breach in session.scalars(select(Breach).order_by(Breach.id.desc())):
            updates = list(
                session.scalars(
                    select(BreachUpdate)
                    .where(BreachUpdate.breach_id == breach.id)
                    .order_by(BreachUpdate.id)
                )
            )
            views.append(BreachView(breach, updates, breach_clock(breach.discovered_at, now)))
        return views
