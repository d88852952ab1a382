"""Art. 6: the dates that prove a staff member's awareness training and confidentiality
pledge, set after the account exists (``leerid sp staff update`` and the DPO's page)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from leerid.errors import LeeridError, NotFoundError
from leerid.sp.kit import privacy_log
from leerid.sp.kit.models import StaffAccount
from leerid.store.engine import session_scope

EARLIEST = dt.date(2000, 1, 1)


def parse_day(text: str, option: str) -> dt.date | None:
    """``text`` (YYYY-MM-DD) as a date, None when empty; a day not yet come is refused."""
    text = text.strip()
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise LeeridError(f"{option} {text!r}: write a date as YYYY-MM-DD") from None
    if day > dt.date.today():
        raise LeeridError(f"{option} {text}: the day lies in the future; give the day it happened")
    if day < EARLIEST:
        raise LeeridError(f"{option} {text}: give a day from {EARLIEST} on")
    return day


def update_staff_dates(
    engine: Engine,
    username: str,
    *,
    actor: str,
    confidentiality_signed_on: dt.date | None = None,
    awareness_trained_on: dt.date | None = None,
) -> None:
    """Art. 6 (m-vertrouwelijkheid, m-sensibilisering): record the given dates (None leaves
    a date as it is); the change is written to the privacy log."""
    if confidentiality_signed_on is None and awareness_trained_on is None:
        raise LeeridError("give --confidentiality-signed and/or --awareness-trained")
    with session_scope(engine) as session:
        account = session.get(StaffAccount, username)
        if account is None:
            raise NotFoundError(f"no staff account {username!r}; see `leerid sp staff list`")
        if confidentiality_signed_on is not None:
            account.confidentiality_signed_on = confidentiality_signed_on
        if awareness_trained_on is not None:
            account.awareness_trained_on = awareness_trained_on
        privacy_log.append(
            session,
            actor=actor,
            action="personeel_bijgewerkt",
            purpose="art. 6: bewijs van sensibilisering en vertrouwelijkheid",
            detail={
                "personeelslid": username,
                "vertrouwelijkheid": str(account.confidentiality_signed_on or ""),
                "sensibilisering": str(account.awareness_trained_on or ""),
            },
        )
