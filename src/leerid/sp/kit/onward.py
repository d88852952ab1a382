"""Art. 4: the register of onward recipients, each announced to DOV beforehand.

"Elke eventuele mededeling van de gevraagde persoonsgegevens door de Dienstenleverancier moet
voorafgaandelijk aan DOV worden gemeld en moet uiteraard in overeenstemming zijn met de
relevante wet- en regelgeving [...]. In het bijzonder is het niet toegelaten dat de
Dienstenleverancier de gegevens zoals vermeld in artikel 3 meedeelt aan andere
dienstenleveranciers die (willen) aansluiten op Leer_ID."

``leerid sp onward notify`` keeps a recipient (name, KBO number, purpose, legal basis), asks
DOV whether that KBO number is a LeerID service provider (``POST …/v1/service-providers/
lookup``, client-authenticated; a yes refuses the recipient for good) and sends a
``doorgifte`` notice (``notices``: over HTTP and by e-mail to DOV's DPO). The recipient is
notified once DOV received the notice or its DPO was e-mailed. An export to it
(``onward_export``) is possible only after that, and only after DOV says again that it is no
LeerID service provider.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

import httpx
from sqlalchemy import select

from leerid.errors import LeeridError, NotFoundError
from leerid.protocol.fields import enterprise_number
from leerid.sp.kit.free_text import refuse_insz
from leerid.sp.kit.models import OnwardRecipient, SentNotice
from leerid.sp.kit.notices import ONWARD_KIND, Delivery, attempt_delivery
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.quality_reports import endpoint
from leerid.sp.kit.relying_party import RelyingParty
from leerid.store.engine import session_scope

__all__ = [
    "DovUnreachableError",
    "Notified",
    "ask_dov",
    "kbo_option",
    "list_recipients",
    "notify",
    "recipient_by_kbo",
]

NAME_LIMIT = 200
TEXT_LIMIT = 1500  # purpose and legal basis each: the notice's text stays under 4,000


class DovUnreachableError(LeeridError):
    """DOV did not answer whether a KBO number is a LeerID service provider (fail closed)."""


@dataclass(frozen=True)
class Notified:
    """What ``notify`` did: the recipient, its notice, and what did not reach DOV (if any)."""

    recipient_id: int
    kbo: str
    delivery: Delivery
    problems: list[str]
    notified_at: dt.datetime | None


def kbo_option(value: str, option: str = "--kbo") -> str:
    """A KBO number as ``0123.456.789`` (also from ``0123456789`` or ``BE0123456789``)."""
    try:
        return enterprise_number(value)
    except ValueError as exc:
        raise LeeridError(f"{option} {value.strip()!r}: {exc}") from None


def _text(value: str, option: str, limit: int) -> str:
    value = value.strip()
    if not value:
        raise LeeridError(f"{option} is required: say it in a sentence (no pupils' data)")
    if len(value) > limit:
        raise LeeridError(f"{option} is longer than {limit} characters; make it shorter")
    return refuse_insz(value, option)


async def ask_dov(rp: RelyingParty, kbo: str) -> bool:
    """Art. 4: DOV's answer whether ``kbo`` is a LeerID service provider (client registry);
    ``DovUnreachableError`` when DOV gives none: the caller must then refuse."""
    try:
        url = await endpoint(rp, "service-providers") + "/lookup"
        response = await rp.post_authenticated(url, {"kbo": kbo})
        data = response.json()
    except (httpx.HTTPError, ValueError, LeeridError) as exc:  # LeeridError: no discovery
        raise DovUnreachableError(
            f"DOV cannot be reached to say whether KBO {kbo} is a LeerID service provider "
            f"({type(exc).__name__}); nothing is passed on without its answer (art. 4): "
            "try again when DOV answers"
        ) from None
    answer = data.get("leerid_service_provider") if isinstance(data, dict) else None
    if response.status_code != 200 or not isinstance(answer, bool):
        reason = data.get("error_description", "") if isinstance(data, dict) else ""
        raise DovUnreachableError(
            f"DOV did not say whether KBO {kbo} is a LeerID service provider "
            f"({response.status_code}: {reason}); nothing is passed on without its answer"
        )
    return answer


def record_answer(provider: ServiceProvider, recipient_id: int, answer: bool) -> None:
    """Keep DOV's latest answer about a recipient, and when it was given."""
    with session_scope(provider.engine) as session:
        row = session.get(OnwardRecipient, recipient_id)
        if row is not None:
            row.leerid_service_provider = answer
            row.checked_at = dt.datetime.now(dt.UTC)


def _keep(
    provider: ServiceProvider, name: str, kbo: str, purpose: str, legal_basis: str, actor: str
) -> int:
    """Keep the recipient (a new one, or one whose notice never went: updated)."""
    with session_scope(provider.engine) as session:
        row = session.scalars(select(OnwardRecipient).where(OnwardRecipient.kbo == kbo)).first()
        if row is not None and row.notified_at is not None:
            raise LeeridError(
                f"KBO {kbo} is registered already ({row.name}) and DOV was notified on "
                f"{row.notified_at:%Y-%m-%d}; `leerid sp onward list` shows it"
            )
        if row is None:
            row = OnwardRecipient(kbo=kbo, created_at=dt.datetime.now(dt.UTC))
            session.add(row)
        row.name, row.purpose, row.legal_basis, row.created_by = name, purpose, legal_basis, actor
        session.flush()
        return row.id


def _keep_notice(provider: ServiceProvider, recipient_id: int, actor: str) -> int:
    """The recipient's ``doorgifte`` notice: a new one, or its undelivered one (neither posted
    nor mailed: the recipient is not notified) with the recipient's text of now."""
    with session_scope(provider.engine) as session:
        row = session.get(OnwardRecipient, recipient_id)
        assert row is not None
        text = (
            f"Voorafgaande melding (protocol art. 4): de dienstenleverancier zal persoonsgegevens "
            f"meedelen aan {row.name} (KBO {row.kbo}).\nDoel: {row.purpose}\n"
            f"Rechtsgrond: {row.legal_basis}"
        )
        notice = session.get(SentNotice, row.notice_id) if row.notice_id is not None else None
        if notice is None:
            notice = SentNotice(kind=ONWARD_KIND, created_at=dt.datetime.now(dt.UTC))
            session.add(notice)
        notice.text, notice.created_by = text, actor
        session.flush()
        row.notice_id = notice.id
        return notice.id


async def notify(
    provider: ServiceProvider,
    rp: RelyingParty,
    *,
    name: str,
    kbo: str,
    purpose: str,
    legal_basis: str,
    actor: str,
) -> Notified:
    """Art. 4: register an onward recipient and announce it to DOV beforehand."""
    checked = kbo_option(kbo)
    name = _text(name, "--recipient", NAME_LIMIT)
    purpose = _text(purpose, "--purpose", TEXT_LIMIT)
    legal_basis = _text(legal_basis, "--legal-basis", TEXT_LIMIT)
    actor = _text(actor, "--actor", 80)
    recipient_id = await asyncio.to_thread(
        _keep, provider, name, checked, purpose, legal_basis, actor
    )
    answer = await ask_dov(rp, checked)
    await asyncio.to_thread(record_answer, provider, recipient_id, answer)
    if answer:
        raise LeeridError(
            f"DOV says KBO {checked} is a LeerID service provider: the protocol forbids passing "
            "its data on to one (art. 4); the recipient is kept as refused and no notice was sent"
        )
    notice_id = await asyncio.to_thread(_keep_notice, provider, recipient_id, actor)
    delivery, problems = await attempt_delivery(provider, rp, notice_id)
    row = await asyncio.to_thread(recipient_by_kbo, provider, checked)
    return Notified(recipient_id, checked, delivery, problems, row.notified_at)


def recipient_by_kbo(provider: ServiceProvider, kbo: str) -> OnwardRecipient:
    """The registered recipient with this (checked) KBO number."""
    with session_scope(provider.engine) as session:
        row = session.scalars(select(OnwardRecipient).where(OnwardRecipient.kbo == kbo)).first()
        if row is None:
            raise NotFoundError(
                f"KBO {kbo} is no registered onward recipient; register it first with "
                "`leerid sp onward notify` (`leerid sp onward list` shows them)"
            )
        session.expunge(row)
        return row


def list_recipients(provider: ServiceProvider) -> list[OnwardRecipient]:
    """The onward recipients, oldest first."""
    with session_scope(provider.engine) as session:
        rows = list(session.scalars(select(OnwardRecipient).order_by(OnwardRecipient.id)))
        for row in rows:
            session.expunge(row)
        return rows
