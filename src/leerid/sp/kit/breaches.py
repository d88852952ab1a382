"""The recipient's breach register (art. 9, GDPR art. 33): the shared register of
``leerid.duties`` on LARS's tables (sp_breach, sp_breach_update) and privacy log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from leerid.duties import breach_register as register
from leerid.duties.breach_clock import STATUSES, WINDOW, BreachClock, breach_clock
from leerid.duties.breach_register import Authority, BreachInputError, BreachView
from leerid.duties.mail import MailError, MailSettings, send_mail
from leerid.sp.kit import privacy_log
from leerid.sp.kit.free_text import refuse_insz
from leerid.sp.kit.models import Breach, BreachUpdate

__all__ = [
    "STATUSES",
    "WINDOW",
    "Authority",
    "BreachClock",
    "BreachInputError",
    "BreachView",
    "MailError",
    "add_breach",
    "breach_clock",
    "list_breaches",
    "notify_other_party",
    "send_mail",
    "update_breach",
]


def _log(
    session: Session, actor: str, action: str, purpose: str, detail: Mapping[str, Any]
) -> None:
    privacy_log.append(session, actor=actor, action=action, purpose=purpose, detail=detail)


PARTY = register.Party(breach=Breach, update=BreachUpdate, log=_log, refuse=refuse_insz)


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
    return register.add_breach(
        engine,
        PARTY,
        mail,
        actor=actor,
        discovered_at=discovered_at,
        description=description,
        categories=categories,
        pupils_affected=pupils_affected,
        measures=measures,
        notify=notify,
    )


def notify_other_party(engine: Engine, mail: MailSettings, breach_id: int, *, actor: str) -> None:
    """Art. 9: send the breach as it stands now to the other party's DPO, and record it."""
    register.notify_other_party(engine, PARTY, mail, breach_id, actor=actor)


def update_breach(
    engine: Engine,
    mail: MailSettings,
    breach_id: int,
    *,
    actor: str,
    text: str | None = None,
    status: str | None = None,
    authority_notified: bool = False,
    authority: Authority | None = None,
    notify: bool = False,
) -> None:
    """GDPR art. 33.4: add information in phases; GDPR art. 33.1/33.5: the authority told
    (``authority.reference``) or why not (``authority.not_needed``); ``authority_notified``
    alone records that it was told now, without a reference."""
    register.update_breach(
        engine,
        PARTY,
        mail,
        breach_id,
        actor=actor,
        text=text,
        status=status,
        authority=authority or Authority(notified=authority_notified),
        notify=notify,
    )


def list_breaches(engine: Engine, now: dt.datetime | None = None) -> list[BreachView]:
    """Every breach, newest first, with its updates and both clocks."""
    return register.list_breaches(engine, PARTY, now)
