"""The protocol's life after entry into force: its status changes (suspension, resumption,
termination, end)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from leerid.protocol.fields import Moment, ProtocolModel, Text
from leerid.protocol.parties import PartyRole

__all__ = [
    "StatusChange",
    "StatusChangeKind",
]


class StatusChangeKind(StrEnum):
    SUSPENDED = "suspended"
    RESUMED = "resumed"
    TERMINATED = "terminated"
    ENDED = "ended"


class StatusChange(ProtocolModel):
    """A change of status after entry into force: suspension, resumption, termination, end."""

    kind: StatusChangeKind
    effective: Moment
    reason: Text
    by: PartyRole | None = None
    reference: str | None = Field(default=None, description="Letter, decision or notice.")
