"""The disclosures the kit received, kept for their inclusion proof (issue 12, point 3).

"For each disclosure it received the kit asks an inclusion proof and keeps it." The relying
party hands every disclosure of a login (``log_received.Received``: endpoint, claim names,
time, the leaf hash DOV named) to ``record_received``; the witness round (``log_inclusion``)
later asks DOV for the inclusion proof of each one, and this module keeps what it found:
index, size and proof (RFC 9162 §2.1.3), DOV's last refusal, or the alert. It does not keep
the entry: the entry names the pupil by DOV's pseudonym, so kept entries could add up to a
history of a pupil's logins, which art. 3 rules out ("Enkel de gegevens op het moment van de
laatste aanmelding"). The leaf hash proves which entry it was and DOV serves it by its index
(``/op/v1/log/entries``); an alert keeps the entry it is about as evidence.

One leaf is one disclosure (RFC 9162 §2.1.1: a leaf hashes one entry). A leaf DOV names a
second time would let one entry stand for two disclosures and hide the other, so the column
is unique and the later disclosure keeps the first one's number (``duplicate_of``), which the
next round turns into an ``afwijkend`` alert. Nothing here names a pupil.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from leerid.sp.kit.log_client import Inclusion, b64url
from leerid.sp.kit.log_received import Received
from leerid.sp.kit.log_tables import ReceivedDisclosure, WitnessedCheckpoint
from leerid.sp.kit.provider import ServiceProvider
from leerid.store.engine import session_scope

__all__ = [
    "PENDING",
    "PROVEN",
    "Due",
    "HeldCheckpoint",
    "due_receipts",
    "mark_proven",
    "mark_refused",
    "prune_proofs",
    "receipts",
    "received_json",
    "record_received",
]

PENDING, PROVEN = "pending", "proven"
BATCH = 200
"""Disclosures checked per round at most (the rest wait for the next round)."""


@dataclass(frozen=True)
class HeldCheckpoint:
    """The checkpoint the witness verified last: proofs are checked against its root."""

    size: int
    root: bytes
    note: str
    seen_at: dt.datetime
    """When a round last fetched it as DOV's newest checkpoint."""


@dataclass(frozen=True)
class Due:
    """A received disclosure a round checks now, and whether its deadline passed."""

    id: int
    received: Received
    duplicate_of: int | None
    overdue: bool


def _row(provider: ServiceProvider, received: Received, first: int | None) -> ReceivedDisclosure:
    return ReceivedDisclosure(
        leaf_hash=received.leaf_hash if first is None else None,
        duplicate_of=first,
        received_at=received.at,
        client_id=provider.settings.client_id,
        endpoint=received.endpoint,
        claims=" ".join(received.claims),
        status=PENDING,
    )


def _holder(session: Session, leaf: str | None) -> int | None:
    """The disclosure already kept with ``leaf``, if any."""
    if leaf is None:
        return None
    return session.scalar(select(ReceivedDisclosure.id).where(ReceivedDisclosure.leaf_hash == leaf))


def _record_one(provider: ServiceProvider, received: Received) -> None:
    try:
        with session_scope(provider.engine) as session:
            session.add(_row(provider, received, _holder(session, received.leaf_hash)))
        return
    except IntegrityError:  # another login kept the same leaf a moment before
        pass
    with session_scope(provider.engine) as session:
        session.add(_row(provider, received, _holder(session, received.leaf_hash)))


def record_received(provider: ServiceProvider, received: Iterable[Received]) -> int:
    """Keep each disclosure of a login for its inclusion proof (only while ``[log] vkey`` is
    set: without DOV's key the kit cannot check anything); how many were kept. A leaf DOV
    already named for another disclosure is kept as that one's duplicate (an alert)."""
    if not provider.settings.log.enabled:
        return 0
    count = 0
    for one in received:
        _record_one(provider, one)
        count += 1
    return count


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _as_received(row: ReceivedDisclosure) -> Received:
    claims = tuple(row.claims.split()) if row.claims else ()
    return Received(row.endpoint, claims, _aware(row.received_at), row.leaf_hash)


def due_receipts(engine: Engine, provable: dt.datetime | None, overdue: dt.datetime) -> list[Due]:
    """The pending disclosures to check now: received at or before ``provable`` (in the held
    checkpoint if DOV logged them), before ``overdue`` (their deadline passed, whatever DOV
    answers), or duplicates of an earlier leaf (wrong at once)."""
    due = [ReceivedDisclosure.received_at <= overdue, ReceivedDisclosure.duplicate_of.is_not(None)]
    if provable is not None:
        due.append(ReceivedDisclosure.received_at <= provable)
    with session_scope(engine) as session:
        rows = session.scalars(
            select(ReceivedDisclosure)
            .where(ReceivedDisclosure.status == PENDING, or_(*due))
            .order_by(ReceivedDisclosure.id)
            .limit(BATCH)
        ).all()
        return [
            Due(row.id, _as_received(row), row.duplicate_of, _aware(row.received_at) <= overdue)
            for row in rows
        ]


def received_json(received: Received) -> dict[str, Any]:
    """What we received, as evidence and in the export (no pupil: names and a hash)."""
    return {
        "endpoint": received.endpoint,
        "claims": list(received.claims),
        "received_at": received.at.isoformat(),
        "leaf_hash": received.leaf_hash,
    }


def mark_proven(engine: Engine, receipt_id: int, answer: Inclusion) -> None:
    with session_scope(engine) as session:
        row = session.get(ReceivedDisclosure, receipt_id)
        assert row is not None
        row.status, row.error = PROVEN, None
        row.log_index, row.tree_size = answer.index, answer.size
        row.proof = json.dumps([b64url(h) for h in answer.proof])
        row.checked_at = dt.datetime.now(dt.UTC)


def mark_refused(engine: Engine, receipt_id: int, error: str) -> None:
    """DOV refused this disclosure's proof for now: said on it; it stays pending until its
    deadline."""
    with session_scope(engine) as session:
        row = session.get(ReceivedDisclosure, receipt_id)
        assert row is not None
        row.error, row.checked_at = error[:400], dt.datetime.now(dt.UTC)


def receipts(engine: Engine, status: str | None = None) -> list[dict[str, Any]]:
    """The disclosures received, with their proof once verified (the DPO's export)."""
    with session_scope(engine) as session:
        query = select(ReceivedDisclosure).order_by(ReceivedDisclosure.id)
        if status is not None:
            query = query.where(ReceivedDisclosure.status == status)
        return [
            {
                "id": row.id,
                **received_json(_as_received(row)),
                "duplicate_of": row.duplicate_of,
                "status": row.status,
                "index": row.log_index,
                "size": row.tree_size,
                "proof": json.loads(row.proof) if row.proof else None,
                "error": row.error,
                "alert": row.alert_id,
            }
            for row in session.scalars(query)
        ]


def prune_proofs(engine: Engine, before: dt.datetime) -> tuple[int, int]:
    """The daily job (``[privacy_log] keep``): proven disclosures received and checkpoints
    seen before ``before`` go, the newest checkpoint always stays (a round compares with
    it); disclosures with an alert stay, as evidence. How many of each were deleted.

    A proof kept longer adds little: every later checkpoint the witness cosigned extends the
    one it was proven against, so DOV can always prove it again from its log."""
    with session_scope(engine) as session:
        gone = session.execute(
            delete(ReceivedDisclosure).where(
                ReceivedDisclosure.status == PROVEN, ReceivedDisclosure.received_at < before
            )
        )
        newest = session.scalar(select(func.max(WitnessedCheckpoint.size)))
        old = session.execute(
            delete(WitnessedCheckpoint).where(
                WitnessedCheckpoint.seen_at < before, WitnessedCheckpoint.size != newest
            )
        )
        return int(getattr(gone, "rowcount", 0)), int(getattr(old, "rowcount", 0))
