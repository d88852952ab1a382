"""The life of a protocol: draft, advised, signed, in force, terminated (art. 8), ended (art. 11).

Only a protocol in force permits disclosure. Dates without a time (the DPOs' advice, a
start date) count from midnight in Brussels, where the protocol is made.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from zoneinfo import ZoneInfo

from leerid.protocol.model import PartyRole, Protocol, StatusChangeKind

BRUSSELS = ZoneInfo("Europe/Brussels")
MONTHS = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)
"""The months in Dutch, for the dates people read on the pupils' pages."""


def brussels(moment: dt.datetime) -> dt.datetime:
    """``moment`` on Belgian clocks (a naive moment is taken as UTC, as stored)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(BRUSSELS)


class ProtocolStatus(StrEnum):
    DRAFT = "draft"
    ADVISED = "advised"
    SIGNED = "signed"
    IN_FORCE = "in_force"
    TERMINATED = "terminated"
    ENDED = "ended"


# The statuses in the words of the protocol's readers (register, evidence, pages)
STATUS_DUTCH = {
    "draft": "ontwerp",
    "advised": "geadviseerd",
    "signed": "ondertekend",
    "in_force": "van kracht",
    "terminated": "beëindigd",
    "ended": "afgelopen",
}


def start_of_day(day: dt.date) -> dt.datetime:
    """Midnight at the start of ``day`` in Brussels."""
    return dt.datetime.combine(day, dt.time(), tzinfo=BRUSSELS)


def _require_aware(at: dt.datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("'at' must be timezone-aware, e.g. datetime.now(UTC)")


def advised_at(protocol: Protocol) -> dt.datetime | None:
    """Preamble F and G: the moment both DPOs have advised, or ``None`` if one has not."""
    dates = [protocol.parties.discloser.dpo.advice_date, protocol.parties.recipient.dpo.advice_date]
    if any(d is None for d in dates):
        return None
    return start_of_day(max(d for d in dates if d is not None))


def fully_signed_at(protocol: Protocol) -> dt.datetime | None:
    """Art. 11: the moment the last of both parties signed, or ``None`` while one has not."""
    latest: dict[PartyRole, dt.datetime] = {}
    for signature in protocol.signatures:
        previous = latest.get(signature.party)
        if previous is None or signature.signed_at > previous:
            latest[signature.party] = signature.signed_at
    if set(latest) != {PartyRole.DISCLOSER, PartyRole.RECIPIENT}:
        return None
    return max(latest.values())


def in_force_from(protocol: Protocol) -> dt.datetime | None:
    """Art. 11: in force on the date of signature by both parties (or a later stated date)."""
    signed = fully_signed_at(protocol)
    if signed is None:
        return None
    not_before = protocol.entry_into_force.not_before
    if not_before is not None:
        return max(signed, start_of_day(not_before))
    return signed


def status(protocol: Protocol, at: dt.datetime) -> ProtocolStatus:
    """The status of ``protocol`` at the moment ``at`` (timezone-aware)."""
    _require_aware(at)
    start = in_force_from(protocol)
    if start is not None and at >= start:
        ends_on = protocol.communication.ends_on
        if ends_on is not None and at >= start_of_day(ends_on + dt.timedelta(days=1)):
            return ProtocolStatus.ENDED  # Art. 11: ends with the term of art. 5
        for change in protocol.status_changes:  # art. 8, 11: each is final
            if change.effective <= at:
                return ProtocolStatus(change.kind.value)
        return ProtocolStatus.IN_FORCE
    for change in protocol.status_changes:
        # A protocol terminated before it ever came into force stays terminated.
        if change.effective <= at and change.kind in (
            StatusChangeKind.TERMINATED,
            StatusChangeKind.ENDED,
        ):
            return ProtocolStatus(change.kind.value)
    if any(s.signed_at <= at for s in protocol.signatures):
        return ProtocolStatus.SIGNED
    advised = advised_at(protocol)
    if advised is not None and at >= advised:
        return ProtocolStatus.ADVISED
    return ProtocolStatus.DRAFT


def permits_disclosure(protocol: Protocol, at: dt.datetime) -> bool:
    """Art. 11 and 8: data is disclosed only while the protocol is in force."""
    return status(protocol, at) is ProtocolStatus.IN_FORCE
