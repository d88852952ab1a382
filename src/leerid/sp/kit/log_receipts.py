"""The disclosures the kit received, and the inclusion proof of each (issue 12, point 3).

"For each disclosure it received the kit asks an inclusion proof and keeps it." The relying
party hands every disclosure of a login (``log_received.Received``: endpoint, claim names,
time, the leaf hash DOV named) to ``record_received``; the witness round later asks DOV for
the inclusion proof of each one older than ``[log] grace`` against the checkpoint it holds
(RFC 9162 §2.1.3.2), checks that DOV's entry hashes to that leaf and says what we received
(``log_received.differences``), and keeps index, size and proof as evidence. It does not
keep the entry: the entry names the pupil by DOV's pseudonym, the same at each login, so
kept entries would be a history of a pupil's logins, which art. 3 rules out ("Enkel de
gegevens op het moment van de laatste aanmelding"). The leaf hash proves which entry it was
and DOV serves it by its index (``/op/v1/log/entries``); an alert keeps the entry it is
about as evidence.

A disclosure is due once it was received ``grace`` seconds before the witness last saw the
held checkpoint as DOV's newest: an entry DOV integrates within that time is in that
checkpoint, so a 404 then means the entry is missing. (Not the moment it was first
fetched: a DOV that drops our entry and so signs no new checkpoint must not make the
disclosure wait for ever.) A disclosure for which DOV named no leaf is missing as well.
Nothing here names a pupil (art. 3: the kit keeps no history of a pupil's logins).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, delete, func, select

from leerid.errors import LeeridError
from leerid.sp.kit.log_alerts import keep_alert
from leerid.sp.kit.log_client import Inclusion, LogClient, b64url
from leerid.sp.kit.log_received import Received, differences
from leerid.sp.kit.log_tables import ReceivedDisclosure, WitnessedCheckpoint
from leerid.sp.kit.provider import ServiceProvider
from leerid.store.engine import session_scope
from leerid.transparency.entries import EntryError, decode_entry
from leerid.transparency.rfc9162 import ProofError, leaf_hash, verify_inclusion

__all__ = [
    "PENDING",
    "PROVEN",
    "HeldCheckpoint",
    "ReceiptRound",
    "check_receipts",
    "prune_proofs",
    "receipts",
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


@dataclass
class ReceiptRound:
    """What checking the due disclosures did."""

    proven: int = 0
    alerts: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def record_received(provider: ServiceProvider, received: Iterable[Received]) -> int:
    """Keep each disclosure of a login for its inclusion proof (only while ``[log] vkey`` is
    set: without DOV's key the kit cannot check anything); how many were kept."""
    if not provider.settings.log.enabled:
        return 0
    rows = [
        ReceivedDisclosure(
            leaf_hash=r.leaf_hash,
            received_at=r.at,
            client_id=provider.settings.client_id,
            endpoint=r.endpoint,
            claims=" ".join(r.claims),
            status=PENDING,
        )
        for r in received
    ]
    with session_scope(provider.engine) as session:
        session.add_all(rows)
    return len(rows)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _as_received(row: ReceivedDisclosure) -> Received:
    claims = tuple(row.claims.split()) if row.claims else ()
    return Received(row.endpoint, claims, _aware(row.received_at), row.leaf_hash)


def _due(engine: Engine, until: dt.datetime) -> list[tuple[int, Received]]:
    with session_scope(engine) as session:
        rows = session.scalars(
            select(ReceivedDisclosure)
            .where(ReceivedDisclosure.status == PENDING, ReceivedDisclosure.received_at <= until)
            .order_by(ReceivedDisclosure.id)
            .limit(BATCH)
        ).all()
        return [(row.id, _as_received(row)) for row in rows]


def _received_json(received: Received) -> dict[str, Any]:
    return {
        "endpoint": received.endpoint,
        "claims": list(received.claims),
        "received_at": received.at.isoformat(),
        "leaf_hash": received.leaf_hash,
    }


def _judge(
    answer: Inclusion, received: Received, held: HeldCheckpoint, client_id: str
) -> tuple[str, str] | None:
    """The alert kind and reason when DOV's answer does not prove our disclosure; None when
    it does (RFC 9162 §2.1.3.2, then the entry compared with what we received)."""
    expected = received.leaf_hash
    if b64url(answer.leaf_hash) != expected or leaf_hash(answer.entry) != answer.leaf_hash:
        return (
            "ontbrekend",
            "het Departement antwoordde met een ander blad of een entry met een andere hash",
        )
    if answer.size != held.size:
        return (
            "ontbrekend",
            f"het Departement bewees grootte {answer.size}; we vroegen grootte {held.size}",
        )
    try:
        verify_inclusion(answer.leaf_hash, answer.index, held.size, answer.proof, held.root)
        entry = decode_entry(answer.entry)
    except ProofError as exc:
        return "ontbrekend", f"het bewijs van opname klopt niet ({exc.message})"
    except EntryError as exc:
        return "afwijkend", f"de entry heeft niet de beschreven vorm ({exc.message})"
    found = differences(entry, received, client_id)
    if found:
        return (
            "afwijkend",
            "de entry van het Departement wijkt af van wat we ontvingen: " + "; ".join(found),
        )
    return None


def _alert(
    engine: Engine, receipt_id: int, kind: str, reason: str, evidence: dict[str, Any]
) -> int:
    """Keep the alert about one received disclosure, and mark the disclosure with it."""
    summary = (
        f"Mededeling nr. {receipt_id} die we ontvingen ({evidence['received']['endpoint']}, "
        f"{evidence['received']['received_at']}): {reason}."
    )
    with session_scope(engine) as session:
        alert_id, _ = keep_alert(session, kind, f"receipt {receipt_id}", summary, evidence)
        row = session.get(ReceivedDisclosure, receipt_id)
        assert row is not None
        row.status, row.alert_id = kind, alert_id
        row.checked_at = dt.datetime.now(dt.UTC)
        return alert_id


def _proven(engine: Engine, receipt_id: int, answer: Inclusion) -> None:
    with session_scope(engine) as session:
        row = session.get(ReceivedDisclosure, receipt_id)
        assert row is not None
        row.status = PROVEN
        row.log_index, row.tree_size = answer.index, answer.size
        row.proof = json.dumps([b64url(h) for h in answer.proof])
        row.checked_at = dt.datetime.now(dt.UTC)


async def _check_one(
    provider: ServiceProvider, log: LogClient, held: HeldCheckpoint, due: tuple[int, Received]
) -> tuple[bool, int | None]:
    """Ask and verify one inclusion proof: (proven, the alert raised or None)."""
    receipt_id, received = due
    evidence: dict[str, Any] = {"received": _received_json(received), "checkpoint": held.note}
    engine, client_id = provider.engine, provider.settings.client_id
    if received.leaf_hash is None:
        reason = (
            "het Departement noemde er geen entry in het logboek voor (geen leerid_log_leaf "
            "of LeerID-Log-Leaf)"
        )
        return False, await asyncio.to_thread(
            _alert, engine, receipt_id, "ontbrekend", reason, evidence
        )
    answer = await log.inclusion(received.leaf_hash, held.size)
    if answer is None:
        reason = f"de entry staat niet in het checkpoint van grootte {held.size}"
        return False, await asyncio.to_thread(
            _alert, engine, receipt_id, "ontbrekend", reason, evidence
        )
    verdict = _judge(answer, received, held, client_id)
    if verdict is None:
        await asyncio.to_thread(_proven, engine, receipt_id, answer)
        return True, None
    evidence["answer"] = {
        "index": answer.index,
        "size": answer.size,
        "leaf_hash": b64url(answer.leaf_hash),
        "entry": b64url(answer.entry),
        "proof": [b64url(h) for h in answer.proof],
    }
    kind, reason = verdict
    return False, await asyncio.to_thread(_alert, engine, receipt_id, kind, reason, evidence)


async def check_receipts(
    provider: ServiceProvider, log: LogClient, held: HeldCheckpoint
) -> ReceiptRound:
    """Issue 12 §3: the inclusion proof of every due disclosure, verified against ``held``;
    each failure an alert. Stops (the rest wait) when DOV's log cannot answer."""
    grace = dt.timedelta(seconds=provider.settings.log.grace)
    result = ReceiptRound()
    for due in await asyncio.to_thread(_due, provider.engine, held.seen_at - grace):
        try:
            proven, alert = await _check_one(provider, log, held, due)
        except LeeridError as exc:
            result.problems.append(f"inclusion proofs: {exc.message}")
            break
        result.proven += proven
        result.alerts += [alert] if alert is not None else []
    return result


def receipts(engine: Engine, status: str | None = None) -> list[dict[str, Any]]:
    """The disclosures received, with their proof once verified (the DPO's export)."""
    with session_scope(engine) as session:
        query = select(ReceivedDisclosure).order_by(ReceivedDisclosure.id)
        if status is not None:
            query = query.where(ReceivedDisclosure.status == status)
        return [
            {
                "id": row.id,
                **_received_json(_as_received(row)),
                "status": row.status,
                "index": row.log_index,
                "size": row.tree_size,
                "proof": json.loads(row.proof) if row.proof else None,
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
