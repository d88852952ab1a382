"""The breach register's options, the same for ``leerid breaches`` (DOV) and ``leerid sp
breaches`` (the recipient): a moment as ISO text, and the supervisory authority's answer
(GDPR art. 33.1: told, with its reference and when; art. 33.5: why it was not told)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from leerid.duties.breach_clock import belgian
from leerid.duties.breach_register import Authority
from leerid.errors import LeeridError

__all__ = ["AuthorityAt", "AuthorityNotNeeded", "AuthorityReference", "authority", "moment"]

AuthorityReference = Annotated[
    str | None,
    typer.Option(help="The authority (GBA) was told: its reference (GDPR art. 33.1)."),
]
AuthorityAt = Annotated[
    str,
    typer.Option(help="When the authority was told (ISO; Belgian time if no offset; default now)."),
]
AuthorityNotNeeded = Annotated[
    str | None, typer.Option(help="Why the authority was not told (GDPR art. 33.5).")
]


def moment(text: str, option: str) -> dt.datetime:
    """``text`` as an aware moment, or an error naming ``option``. Without an offset it is
    Belgian time, as on the web forms; a wall time the clock change skips or passes twice
    is refused (give an offset)."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise LeeridError(f"{option} {text!r}: write an ISO time, e.g. 2026-11-28T09:30") from None
    try:
        return belgian(value, strict=True)
    except ValueError as exc:
        raise LeeridError(
            f"{option} {text!r}: {exc}; give an offset, e.g. {value:%Y-%m-%dT%H:%M}+02:00"
        ) from None


def authority(
    reference: str | None, at: str, not_needed: str | None, notified: bool = False
) -> Authority:
    """The options as the register's ``Authority`` (checked there: one of the two)."""
    told_at = moment(at, "--authority-at") if at else None
    return Authority(
        reference=reference, notified_at=told_at, not_needed=not_needed, notified=notified
    )
