"""Server-rendered pages: one Jinja2 environment with autoescaping on."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from leerid.protocol.lifecycle import brussels

TEMPLATES = Path(__file__).with_name("templates")


def when(moment: dt.datetime | None, empty: str = "—") -> str:
    """A moment as people in Flanders read it: Belgian time, the zone named."""
    if moment is None:
        return empty
    local = brussels(moment)
    return f"{local:%d-%m-%Y %H:%M} Belgische tijd ({local.tzname()})"


ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html", "xml"], default_for_string=True, default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters["when"] = when


def render(name: str, **context: Any) -> str:
    return ENV.get_template(name).render(**context)
