"""The provider's side of DOV's change feed: the changes its commands record, and what became
of the notices (issue 10, point 3).

Each helper runs in the caller's transaction, so a change is recorded with the act itself:
a version coming into force when the second party's valid signature is recorded (art. 11),
a protocol's end (art. 8, 11), the status of a recipient's data-quality report (art. 7).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from leerid.idp.oauth.rfc8417 import event_type
from leerid.idp.store.endings import RecordedEnding
from leerid.idp.store.events import SecurityEvent
from leerid.idp.store.models import IdpClient
from leerid.idp.store.protocols import signed_versions
from leerid.protocol.lifecycle import in_force_from
from leerid.registry.changes import Change, ChangeKind, DovChange, record_change

__all__ = [
    "Notice",
    "ending_notices",
    "note_ending",
    "note_report_status",
    "note_version_signed",
    "version_signed",
]


def version_signed(session: Session, protocol_id: str, version: int) -> bool:
    """Art. 11: both parties' valid signatures over ``version``'s exact hash are recorded."""
    for stored in signed_versions(session, protocol_id):
        if stored.version == version:
            return in_force_from(stored.protocol) is not None
    return False


def note_version_signed(session: Session, protocol_id: str, version: int, before: bool) -> bool:
    """Art. 11: record ``protocol-version-in-force`` for every client of the protocol when the
    signature just recorded completed ``version`` (``before``: was it complete already?)."""
    session.flush()
    if before or not version_signed(session, protocol_id, version):
        return False
    payload = {"protocol_id": protocol_id, "version": version}
    record_change(
        session,
        Change(ChangeKind.PROTOCOL_VERSION_IN_FORCE, protocol_id=protocol_id, payload=payload),
    )
    return True


def note_ending(session: Session, ending: RecordedEnding) -> None:
    """Art. 8 (termination by simple notice) and 11: every client of the protocol hears of it."""
    payload = {
        "protocol_id": ending.protocol_id,
        "kind": ending.kind.value,
        "ground": ending.ground,
        "effective_at": ending.effective_at.isoformat(),
        "reason": ending.reason,
    }
    record_change(
        session,
        Change(
            ChangeKind.PROTOCOL_ENDED,
            protocol_id=ending.protocol_id,
            payload=payload,
            at=ending.recorded_at,
        ),
    )


def note_report_status(
    session: Session,
    *,
    client_id: str,
    code: str,
    status: str,
    resolution: str | None,
    closed_at: dt.datetime | None,
) -> None:
    """Art. 7: the recipient that reported hears the new status of its report."""
    payload = {
        "code": code,
        "status": status,
        "resolution": resolution,
        "closed_at": None if closed_at is None else closed_at.isoformat(),
    }
    record_change(
        session, Change(ChangeKind.QUALITY_REPORT_STATUS, client_id=client_id, payload=payload)
    )


@dataclass(frozen=True)
class Notice:
    """Art. 8, 11: where the notice of a protocol's end stands for one client."""

    client_id: str
    state: str  # not published | pending | delivered | acknowledged | error: <err>
    acked_at: dt.datetime | None


def ending_notices(session: Session, protocol_id: str) -> list[Notice]:
    """For each client bound to ``protocol_id``: was the notice of its end acknowledged?"""
    ended = event_type(ChangeKind.PROTOCOL_ENDED.value)
    changes = select(DovChange.id).where(
        DovChange.kind == ChangeKind.PROTOCOL_ENDED.value, DovChange.protocol_id == protocol_id
    )
    rows = {
        r.client_id: r
        for r in session.scalars(
            select(SecurityEvent).where(
                SecurityEvent.event_type == ended, SecurityEvent.change_id.in_(changes)
            )
        )
    }
    clients = session.scalars(
        select(IdpClient.client_id)
        .where(IdpClient.protocol_id == protocol_id)
        .order_by(IdpClient.client_id)
    )
    notices = []
    for client_id in clients:
        row = rows.get(client_id)
        if row is None:
            notices.append(Notice(client_id, "not published", None))
            continue
        state = {"acked": "acknowledged", "error": f"error: {row.err}"}.get(row.state)
        if state is None:
            state = "delivered" if row.delivered_at is not None else "pending"
        acked = row.acked_at
        if acked is not None and acked.tzinfo is None:
            acked = acked.replace(tzinfo=dt.UTC)
        notices.append(Notice(client_id, state, acked))
    return notices
