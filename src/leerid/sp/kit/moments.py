"""How a moment reads for people in Flanders: Belgian time, the zone named."""

from __future__ import annotations

import datetime as dt

from leerid.protocol.lifecycle import brussels


def when(moment: dt.datetime | None, empty: str = "—") -> str:
    """A moment as people in Flanders read it: Belgian time, the zone named."""
    if moment is None:
        return empty
    local = brussels(moment)
    return f"{local:%d-%m-%Y %H:%M} Belgische tijd ({local.tzname()})"
