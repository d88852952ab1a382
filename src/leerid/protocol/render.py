"""Rendering a protocol back into its publication text (decree 2008, art. 8 §1: both parties
publish it): Dutch, with the structure of the signed protocol, as HTML or Markdown.

The templates ship in ``leerid/protocol/templates`` (``protocol_text.html`` is the text
itself, ``protocol.html`` the standalone page around it); HTML is autoescaped. The text is made
from the protocol file alone, so the same file always gives the same page.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from leerid.protocol.canonical import content_hash
from leerid.protocol.lifecycle import in_force_from
from leerid.protocol.model import (
    Attribute,
    Category,
    Condition,
    PartyRole,
    Protocol,
    StatusChangeKind,
)


class RenderFormat(StrEnum):
    HTML = "html"
    MD = "md"


CATEGORY_HEADINGS = {
    Category.OFFICIAL: "Officiële persoonsgegevens",
    Category.ACCOUNT: "Accountgegevens",
    Category.ENROLMENT: "Inschrijvingen",
}

CONDITION_TEXT = {
    Condition.DECRETAL_BASIS: "enkel met decretale basis van de Dienstenleverancier",
    Condition.IDENTIFIED_PUPIL: "enkel voor geïdentificeerde leerlingen (met INSZ)",
}

CHANGE_TEXT = {
    StatusChangeKind.TERMINATED: "beëindigd",
    StatusChangeKind.ENDED: "van rechtswege geëindigd",
}

_BOLD = re.compile(r"\*\*(.+?)\*\*")


def nl_date(value: dt.date) -> str:
    """A date as the protocol writes it: ``22/02/2024``."""
    return value.strftime("%d/%m/%Y")


def nl_moment(value: dt.datetime) -> str:
    """A signature moment: ``25/03/2024 14:40:38 +01:00``."""
    offset = value.strftime("%z")
    return value.strftime("%d/%m/%Y %H:%M:%S ") + f"{offset[:3]}:{offset[3:]}"


def capfirst(text: str) -> str:
    """``text`` with its first letter in upper case (``de Dienstenleverancier`` → ``De …``)."""
    return text[:1].upper() + text[1:]


def html_inline(text: str) -> Markup:
    """Escape ``text`` and turn ``**bold**`` (the preamble's party names) into ``<strong>``."""
    escaped = str(escape(text))
    return Markup(_BOLD.sub(r"<strong>\1</strong>", escaped))  # noqa: S704 - input escaped above


def md_inline(text: str) -> str:
    """Keep ``**bold**``; escape characters Markdown would read as markup."""
    return re.sub(r"([\\`<>|])", r"\\\1", text)


def _environment(fmt: RenderFormat) -> Environment:
    env = Environment(
        loader=PackageLoader("leerid.protocol", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["nl_date"] = nl_date
    env.filters["nl_moment"] = nl_moment
    env.filters["capfirst"] = capfirst
    env.filters["inline"] = html_inline if fmt is RenderFormat.HTML else md_inline
    return env


def _attribute_groups(protocol: Protocol) -> list[tuple[str, list[Attribute]]]:
    groups: list[tuple[str, list[Attribute]]] = []
    for category, heading in CATEGORY_HEADINGS.items():
        rows = [a for a in protocol.data.attributes if a.category is category]
        if rows:
            groups.append((heading, rows))
    return groups


def context(protocol: Protocol) -> dict[str, Any]:
    """What the templates are given: the protocol and a few derived values."""
    parties = protocol.parties
    return {
        "p": protocol,
        "letters": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "attribute_groups": _attribute_groups(protocol),
        "condition_text": CONDITION_TEXT,
        "change_text": CHANGE_TEXT,
        "processing_measures": [m for m in protocol.security.measures if m.scope == "processing"],
        "communication_measures": [
            m for m in protocol.security.measures if m.scope == "communication"
        ],
        "party_name": {
            PartyRole.DISCLOSER: parties.discloser.short_name,
            PartyRole.RECIPIENT: parties.recipient.short_name,
        },
        "in_force_from": in_force_from(protocol),
        "content_hash": content_hash(protocol),
    }


def render(protocol: Protocol, fmt: RenderFormat | str) -> str:
    """The publication text of ``protocol`` as HTML (a standalone page) or Markdown."""
    fmt = RenderFormat(fmt)
    template = "protocol.html" if fmt is RenderFormat.HTML else "protocol.md.txt"
    return _environment(fmt).get_template(template).render(context(protocol))


def render_text(protocol: Protocol, content_hash: str | None = None) -> Markup:
    """The publication text of ``protocol`` as an HTML fragment: what the standalone page
    holds in its ``<main>``, for a page with its own frame and stylesheet (DOV's site).

    ``content_hash``: the hash the version was stored under, when ``protocol`` carries the
    recorded signatures or end instead of its file's (the hash disclosures name)."""
    values = context(protocol)
    if content_hash is not None:
        values["content_hash"] = content_hash
    html = _environment(RenderFormat.HTML).get_template("protocol_text.html").render(values)
    return Markup(html)  # noqa: S704 - an autoescaped template
