"""How a moment reads for people in Flanders: Belgian time, the zone named."""

from __future__ import annotations

import datetime as dt

from leerid.protocol.lifecycle import MONTHS, brussels


def when(moment: dt.datetime | None, empty: str = "—") -> str:
    """A moment as people in Flanders read it: Belgian time, the zone named."""
    if moment is None:
        return empty
    local = brussels(moment)
    return f"{local:%d-%m-%Y %H:%M} Belgische tijd ({local.tzname()})"


DAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")


def spoken(moment: dt.datetime | None, empty: str = "—") -> str:
    """A moment as a 12-year-old reads it, in Belgian time: "maandag 3 maart 2025 om 14.05 uur"."""
    if moment is None:
        return empty
    local = brussels(moment)
    day = f"{DAYS[local.weekday()]} {local.day} {MONTHS[local.month - 1]} {local.year}"
    return f"{day} om {local:%H.%M} uur"


def spoken_day(moment: dt.datetime | None, empty: str = "—") -> str:
    """Only the day, as a 12-year-old reads it: "maandag 3 maart 2025"."""
    return spoken(moment, empty).split(" om ")[0]
