"""Art. 6: the dates that prove a staff member's awareness training and confidentiality
pledge, as typed (``leerid sp staff`` and ``/personeel/medewerkers``; ``staff_admin`` stores
them)."""

from __future__ import annotations

import datetime as dt

from leerid.errors import LeeridError

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
