"""The end of a protocol as DOV records it: termination (art. 8) and end by law (art. 11).

One row per protocol id, never changed: an end is final (a new protocol is a new id). The
row says who recorded it, when, why and from when it counts; ``notified_at`` stays empty
until the notice to the recipient is published (the events of issue 10, point 3, set it).
Recording an end appends a ``protocol_ending`` entry to the transparency log in the same
transaction (issue 12 §1): the protocol, the cause (kind and ground) and from when; the
reason and the operator stay in the row (free text may name people).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, DateTime, Exists, Integer, String, Text, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from leerid.errors import LeeridError
from leerid.idp.store._fast_path import HotStatement
from leerid.idp.store.tlog.append import append_recorded
from leerid.protocol.parties import PartyRole
from leerid.protocol.status_changes import EndGround, StatusChange, StatusChangeKind
from leerid.store.base import Base
from leerid.transparency.entries import protocol_entry

__all__ = [
    "ProtocolEnding",
    "RecordedEnding",
    "ending_exists",
    "find_ending",
    "read_ending",
    "record_ending",
]


class ProtocolEnding(Base):
    """Art. 8 and 11: the end of protocol ``protocol_id`` (all its versions)."""

    __tablename__ = "protocol_ending"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    protocol_id: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # terminated | ended
    ground: Mapped[str] = mapped_column(String(20))  # sanction (art. 8) | term | legal-basis
    by_party: Mapped[str | None] = mapped_column(String(20), nullable=True)
    effective_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    reason: Mapped[str] = mapped_column(Text)
    operator: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    notified_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


SANCTION = "sanction"
"""The ground of a termination: art. 8's sanction for processing against the protocol."""


@dataclass(frozen=True)
class RecordedEnding:
    """A stored end, as the commands show it and the lifecycle reads it."""

    protocol_id: str
    kind: StatusChangeKind
    ground: str
    by_party: PartyRole | None
    effective_at: dt.datetime
    reason: str
    operator: str
    recorded_at: dt.datetime
    notified_at: dt.datetime | None

    def status_change(self) -> StatusChange:
        """The end as a status change of the protocol (``leerid.protocol.lifecycle``)."""
        return StatusChange(
            kind=self.kind,
            effective=self.effective_at,
            reason=self.reason,
            by=self.by_party,
            ground=None if self.ground == SANCTION else EndGround(self.ground),
            reference=f"leerid protocol, recorded by {self.operator}",
        )


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _recorded(row: Any) -> RecordedEnding:
    """A mapped ``ProtocolEnding`` or a row of its columns, as a ``RecordedEnding``."""
    return RecordedEnding(
        protocol_id=row.protocol_id,
        kind=StatusChangeKind(row.kind),
        ground=row.ground,
        by_party=None if row.by_party is None else PartyRole(row.by_party),
        effective_at=_aware(row.effective_at),
        reason=row.reason,
        operator=row.operator,
        recorded_at=_aware(row.recorded_at),
        notified_at=None if row.notified_at is None else _aware(row.notified_at),
    )


def record_ending(session: Session, ending: RecordedEnding) -> RecordedEnding:
    """Store ``ending``; an end already recorded for the protocol is refused (it is final)."""
    existing = find_ending(session, ending.protocol_id)
    if existing is not None:
        raise LeeridError(_already(existing))
    row = ProtocolEnding(
        protocol_id=ending.protocol_id,
        kind=ending.kind.value,
        ground=ending.ground,
        by_party=None if ending.by_party is None else ending.by_party.value,
        effective_at=ending.effective_at.astimezone(dt.UTC),  # SQLite keeps no offset
        reason=ending.reason,
        operator=ending.operator,
        recorded_at=ending.recorded_at.astimezone(dt.UTC),
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise LeeridError(
            f"another process recorded the end of protocol {ending.protocol_id} at the same "
            "moment; see it with: leerid protocol list"
        ) from None
    entry = protocol_entry(
        "protocol_ending",
        at=row.recorded_at,
        protocol=row.protocol_id,
        cause=f"{row.kind}/{row.ground}",
        effective=row.effective_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    )
    append_recorded(session, f"the end of protocol {row.protocol_id}", entry)
    return _recorded(row)


def _already(existing: RecordedEnding) -> str:
    return (
        f"protocol {existing.protocol_id} was already {existing.kind.value} "
        f"({existing.ground}) from {existing.effective_at.isoformat(timespec='seconds')}, "
        f"recorded by {existing.operator} at "
        f"{existing.recorded_at.isoformat(timespec='seconds')}; an end is final "
        "(art. 8, 11): a new protocol needs a new id"
    )


def find_ending(session: Session, protocol_id: str) -> RecordedEnding | None:
    """The recorded end of ``protocol_id``, or None while it has none."""
    row = session.scalars(
        select(ProtocolEnding).where(ProtocolEnding.protocol_id == protocol_id)
    ).first()
    return None if row is None else _recorded(row)


_ENDING = HotStatement(
    select(*ProtocolEnding.__table__.c).where(
        ProtocolEnding.protocol_id == bindparam("b_protocol_id")
    )
)


def read_ending(conn: Connection, protocol_id: str) -> RecordedEnding | None:
    """``find_ending`` as one prebuilt indexed read (the provider asks it on every request)."""
    row = _ENDING(conn, {"b_protocol_id": protocol_id}).first()
    return None if row is None else _recorded(row)


def ending_exists(protocol_id: Any, at: Any = None) -> Exists:
    """Art. 8, 11: ``EXISTS`` (an end of the protocol ``protocol_id``, in effect by ``at``
    when given), an SQL expression for the statement a request runs anyway (one indexed
    probe, no round trip of its own)."""
    ending = select(ProtocolEnding.id).where(ProtocolEnding.protocol_id == protocol_id)
    if at is not None:
        ending = ending.where(ProtocolEnding.effective_at <= at)
    return ending.exists()
