"""Server-rendered pages: one Jinja2 environment with autoescaping on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from leerid.sp.kit.moments import spoken, spoken_day, when

__all__ = ["ENV", "TEMPLATES", "render", "spoken", "when"]

TEMPLATES = Path(__file__).with_name("templates")


ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html", "xml"], default_for_string=True, default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters["when"] = when
ENV.filters["spoken"] = spoken  # the pupil's pages: "maandag 3 maart 2025 om 14.05 uur"
ENV.filters["spoken_day"] = spoken_day


def render(name: str, **context: Any) -> str:
    return ENV.get_template(name).render(**context)
