"""The protocol's end after entry into force: termination by DOV (art. 8), end by law (art. 11).

The seed knows no suspension: art. 8 gives DOV one sanction, to end the protocol "middels
eenvoudige kennisgeving", and art. 11 ends it by law. A status change is therefore final.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from pydantic import Field, field_validator

from leerid.protocol.fields import Moment, ProtocolModel, Text
from leerid.protocol.parties import PartyRole

__all__ = [
    "EndGround",
    "StatusChange",
    "StatusChangeKind",
    "termination_problem",
    "with_ending",
]


class StatusChangeKind(StrEnum):
    TERMINATED = "terminated"  # art. 8: by DOV, by simple notice, at once
    ENDED = "ended"  # art. 11: by law (the term of art. 5 ran out, or no legal basis)


class EndGround(StrEnum):
    """Art. 11: why the protocol ended by law."""

    TERM = "term"  # "na afloop van de in artikel 5 bedoelde termijn van mededeling"
    LEGAL_BASIS = "legal-basis"  # "wanneer er geen rechtsgrond meer bestaat"


_NO_SUSPENSION = (
    "'{kind}' is not a status change of this protocol: the seed has no suspension. "
    "Art. 8 lets DOV end it ('terminated', by: discloser) and art. 11 ends it by law "
    "('ended', ground: term or legal-basis); use one of those"
)


class StatusChange(ProtocolModel):
    """A change of status after entry into force: termination (art. 8) or end (art. 11)."""

    kind: StatusChangeKind
    effective: Moment
    reason: Text
    by: PartyRole | None = None
    ground: EndGround | None = Field(
        default=None, description="Art. 11, for 'ended': term or legal-basis."
    )
    reference: str | None = Field(default=None, description="Letter, decision or notice.")

    @field_validator("kind", mode="before")
    @classmethod
    def _no_suspension(cls, value: Any) -> Any:
        if value in ("suspended", "resumed"):
            raise ValueError(_NO_SUSPENSION.format(kind=value))
        return value


def termination_problem(changes: Sequence[StatusChange], allowed: PartyRole) -> str | None:
    """Art. 8: only ``allowed`` (the seed: DOV, the discloser) may terminate; else why not."""
    for change in changes:
        if change.kind is StatusChangeKind.TERMINATED and change.by is not allowed:
            who = "no party" if change.by is None else f"by: {change.by.value}"
            return (
                f"a termination with {who} is refused: art. 8 gives the right to terminate "
                f"to the {allowed.value} alone ('DOV kan dit protocol middels eenvoudige "
                f"kennisgeving ... eenzijdig beëindigen'); write by: {allowed.value}, or, for "
                "an end by law, kind: ended with ground: term or legal-basis (art. 11)"
            )
    return None


def with_ending(changes: Sequence[StatusChange], ending: StatusChange) -> tuple[StatusChange, ...]:
    """``changes`` (the file's) with ``ending`` (recorded in the provider's store) taken in.

    Every status change is final, so the earlier of the two ends stands: the file's when it
    ends the protocol no later than ``ending``, else ``ending`` alone.
    """
    if changes and changes[0].effective <= ending.effective:
        return tuple(changes)
    return (ending,)
