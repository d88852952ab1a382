"""What changed at DOV that a recipient must hear of: the Department's change feed.

Every change a service provider must follow (issue 10, point 3) is written here in the same
transaction as the change itself: a merge, an identification, an account deleted or purged,
a protocol version coming into force, a protocol's end, a data-quality report from DOV, the
status of a recipient's report, a request for the processor list. Nothing is lost: the
provider's publisher turns each row, in ``id`` order, into one signed Security Event Token
(RFC 8417) per recipient entitled to it, and advances its cursor in the same transaction.

A row addresses its recipients in one of three ways: ``client_id`` (one service provider),
``protocol_id`` (every client bound to that protocol), or the pupil (``leer_id_uuid`` and
``account_uuids``: every client that received the pupil's data under a protocol it is bound
to, art. 3). The row holds identifiers, never a name or an INSZ.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, Index, Integer, String, Text, insert, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from leerid.store.base import Base

__all__ = [
    "CHANGE_COLUMNS",
    "FEED_LOCK",
    "Change",
    "ChangeKind",
    "DovChange",
    "change_rows",
    "record_change",
    "record_changes",
]

FEED_LOCK = 0x6C65_6572_6964
"""PostgreSQL advisory lock of the feed: a writer holds it shared until it commits, the
publisher exclusively while it reads. Ids are taken at INSERT but seen at COMMIT, so without
it the publisher could pass id 10 while its transaction is still open and 11 is committed,
and never send 10. SQLite has one writer at a time and needs none."""


class ChangeKind(StrEnum):
    """The kinds of change a recipient hears of (the event types of the provider's SETs)."""

    PROTOCOL_VERSION_IN_FORCE = "protocol-version-in-force"  # art. 11: both signatures
    PROTOCOL_ENDED = "protocol-ended"  # art. 8 termination, art. 11 end of term or basis
    ACCOUNT_IDENTIFIED = "account-identified"  # art. 3: temporary account -> Leer_id_uuid
    PUPILS_MERGED = "pupils-merged"  # absorbed Leer_id_uuid -> kept Leer_id_uuid
    ACCOUNT_DELETED = "account-deleted"  # deleted at DOV (art. 3: the recipient deletes it)
    ACCOUNT_PURGED = "account-purged"  # DOV's retention ended it (RISC account-purged)
    QUALITY_REPORT = "quality-report"  # art. 7: DOV (or a pupil through DOV) reports an error
    QUALITY_REPORT_STATUS = "quality-report-status"  # art. 7: status of a recipient's report
    PROCESSOR_LIST_REQUESTED = "processor-list-requested"  # art. 6: DOV asks for the list
    NOTICE_ACKNOWLEDGED = "notice-acknowledged"  # art. 9: DOV acknowledged a notice


REMOVALS = frozenset({ChangeKind.ACCOUNT_DELETED, ChangeKind.ACCOUNT_PURGED})
"""Kinds that only take data away: sent under an ended protocol too (art. 11, last paragraph:
the retention and destruction duties go on); every other pupil change needs one in force."""


class DovChange(Base):
    """One change, in the order DOV made them (``id``); never updated, never deleted early."""

    __tablename__ = "dov_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    protocol_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    leer_id_uuid: Mapped[str | None] = mapped_column(String(36), nullable=True)
    account_uuids: Mapped[str] = mapped_column(Text, default="[]")  # JSON array
    payload: Mapped[str] = mapped_column(Text, default="{}")  # JSON object, no names, no INSZ

    __table_args__ = (Index("ix_dov_change_at", "at"),)


@dataclass(frozen=True)
class Change:
    """A change to record; give ``client_id``, ``protocol_id`` or the pupil's keys."""

    kind: ChangeKind
    client_id: str | None = None
    protocol_id: str | None = None
    leer_id_uuid: str | None = None
    account_uuids: tuple[str, ...] = ()
    payload: Mapping[str, Any] = field(default_factory=dict)
    at: dt.datetime | None = None

    def values(self, now: dt.datetime) -> dict[str, Any]:
        """The row's column values (``at`` defaults to ``now``)."""
        if not (self.client_id or self.protocol_id or self.leer_id_uuid or self.account_uuids):
            raise ValueError(f"a {self.kind.value} change names no recipient and no pupil")
        return {
            "kind": self.kind.value,
            "at": (self.at or now).astimezone(dt.UTC),  # SQLite keeps no offset
            "client_id": self.client_id,
            "protocol_id": self.protocol_id,
            "leer_id_uuid": self.leer_id_uuid,
            "account_uuids": json.dumps(sorted(self.account_uuids)),
            "payload": json.dumps(dict(self.payload), sort_keys=True, default=str),
        }


def record_change(session: Session, change: Change) -> None:
    """Write ``change`` in the caller's transaction (it commits or rolls back with it)."""
    record_changes(session, [change])


def record_changes(session: Session, changes: Iterable[Change]) -> int:
    """Write many changes in one statement (the importer's identifications); their count."""
    now = dt.datetime.now(dt.UTC)
    rows = [c.values(now) for c in changes]
    if rows:
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock_shared(:k)"), {"k": FEED_LOCK})
        session.execute(insert(DovChange), rows)
    return len(rows)


CHANGE_COLUMNS = (
    "kind",
    "at",
    "client_id",
    "protocol_id",
    "leer_id_uuid",
    "account_uuids",
    "payload",
)
"""The columns ``change_rows`` fills, for a bulk writer (the importer's ``COPY``)."""


def change_rows(changes: Iterable[Change], now: dt.datetime) -> list[tuple[Any, ...]]:
    """The rows of ``changes`` in ``CHANGE_COLUMNS`` order, for a writer without a session.

    Such a writer takes ``FEED_LOCK`` shared on PostgreSQL itself, as ``record_changes`` does.
    """
    rows = [c.values(now) for c in changes]
    return [tuple(row[name] for name in CHANGE_COLUMNS) for row in rows]
