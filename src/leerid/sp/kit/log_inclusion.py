"""The inclusion proof of each disclosure the kit received, asked and judged (issue 12, §3).

"For each disclosure it received the kit asks an inclusion proof and keeps it." Each round
asks DOV (``GET /proof/inclusion?hash=LEAF&size=HELD``) for the pending disclosures that are
due, verifies the proof against the held checkpoint (RFC 9162 §2.1.3.2), hashes the entry
back to the leaf and compares it with what we received (``log_received.differences``).

A disclosure is due when

- it was received ``[log] grace`` seconds before the round last saw the held checkpoint as
  DOV's newest: an entry DOV integrates within that time is in that checkpoint, so DOV's
  404 then means the entry is missing;
- its **deadline** passed: ``received_at + grace + [log] stale``. A DOV that stalls (serves
  no new checkpoint, refuses or fails the request) cannot make a disclosure wait for ever:
  past its deadline a disclosure without a verified proof is ``ontbrekend``, whatever DOV
  answers;
- DOV named its leaf for an earlier disclosure too (``duplicate_of``): ``afwijkend`` at once.

A refusal (4xx, a malformed answer) for one leaf is kept on that disclosure and the round
goes on with the next; when DOV cannot be reached (5xx) the round stops asking and only
judges the disclosures past their deadline. Everything one round finds wrong is **one**
alert (art. 9) listing each disclosure with its evidence; each disclosure is marked with it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select

from leerid.sp.kit.log_alerts import keep_alert
from leerid.sp.kit.log_client import (
    Inclusion,
    LogClient,
    LogRefusedError,
    LogUnavailableError,
    b64url,
)
from leerid.sp.kit.log_receipts import (
    Due,
    HeldCheckpoint,
    due_receipts,
    mark_proven,
    mark_refused,
    received_json,
)
from leerid.sp.kit.log_received import Binding, differences
from leerid.sp.kit.log_tables import ReceivedDisclosure
from leerid.sp.kit.models import SignedProtocolVersion
from leerid.sp.kit.provider import ServiceProvider
from leerid.store.engine import session_scope
from leerid.transparency.entries import EntryError, decode_entry
from leerid.transparency.rfc9162 import ProofError, leaf_hash, verify_inclusion

__all__ = ["ReceiptRound", "binding", "check_receipts"]

SEVERITY = ("ontbrekend", "afwijkend")
"""An alert about several disclosures takes the kind of the worst among them."""


@dataclass
class ReceiptRound:
    """What checking the due disclosures did."""

    proven: int = 0
    alerts: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Finding:
    """One disclosure DOV's log does not show as we received it."""

    receipt: int
    kind: str
    reason: str
    evidence: dict[str, Any]


def binding(provider: ServiceProvider) -> Binding:
    """Art. 11: our client id, the protocol we are bound to and the content hashes of its
    versions both parties signed (as DOV announced them, ``signed_protocol``)."""
    protocol_id = provider.local_protocol.id
    with session_scope(provider.engine) as session:
        hashes = session.scalars(
            select(SignedProtocolVersion.content_sha256).where(
                SignedProtocolVersion.protocol_id == protocol_id
            )
        ).all()
    return Binding(provider.settings.client_id, protocol_id, frozenset(hashes))


def _answer_json(answer: Inclusion) -> dict[str, Any]:
    return {
        "index": answer.index,
        "size": answer.size,
        "leaf_hash": b64url(answer.leaf_hash),
        "entry": b64url(answer.entry),
        "proof": [b64url(h) for h in answer.proof],
    }


def _judge(
    answer: Inclusion, due: Due, held: HeldCheckpoint, bound: Binding
) -> tuple[str, str] | None:
    """The alert kind and reason when DOV's answer does not prove our disclosure; None when
    it does (RFC 9162 §2.1.3.2, then the entry compared with what we received)."""
    if b64url(answer.leaf_hash) != due.received.leaf_hash:
        return "ontbrekend", "het Departement antwoordde met een ander blad"
    if leaf_hash(answer.entry) != answer.leaf_hash:
        return "ontbrekend", "het Departement antwoordde met een entry met een andere hash"
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
    found = differences(entry, due.received, bound)
    if found:
        return "afwijkend", "de entry wijkt af van wat we ontvingen: " + "; ".join(found)
    return None


def _without_proof(due: Due, held: HeldCheckpoint | None) -> _Finding | None:
    """The verdict that needs no question to DOV: a duplicate leaf, no leaf named."""
    evidence: dict[str, Any] = {"received": received_json(due.received)}
    if held is not None:
        evidence["checkpoint"] = held.note
    if due.duplicate_of is not None:
        reason = (
            f"het Departement noemde hetzelfde blad als voor mededeling nr. {due.duplicate_of}: "
            "één entry voor twee mededelingen, dus één ervan staat niet in het logboek"
        )
        return _Finding(due.id, "afwijkend", reason, evidence)
    if due.received.leaf_hash is None:
        reason = (
            "het Departement noemde er geen entry voor (geen leerid_log_leaf of LeerID-Log-Leaf)"
        )
        return _Finding(due.id, "ontbrekend", reason, evidence)
    return None


def _late(due: Due, why: str, evidence: dict[str, Any]) -> _Finding | None:
    """Past its deadline a disclosure without a verified proof is missing; before it, it
    waits (None)."""
    if not due.overdue:
        return None
    reason = f"geen geldig bewijs van opname binnen de termijn ([log] grace + stale): {why}"
    return _Finding(due.id, "ontbrekend", reason, evidence)


class _Asker:
    """Asks DOV the proofs of one round; stops asking once DOV cannot be reached."""

    def __init__(self, log: LogClient, held: HeldCheckpoint | None, bound: Binding) -> None:
        self.log, self.held, self.bound = log, held, bound
        self.unreachable: str | None = None if held is not None else "nog geen checkpoint"
        self.refused: list[str] = []

    async def check(self, engine: Engine, due: Due) -> Inclusion | _Finding | None:
        """The proof verified, the finding, or None (it waits for a later round)."""
        found = _without_proof(due, self.held)
        if found is not None:
            return found
        evidence: dict[str, Any] = {"received": received_json(due.received)}
        if self.held is None or self.unreachable is not None:
            return _late(due, f"het Departement antwoordde niet ({self.unreachable})", evidence)
        evidence["checkpoint"] = self.held.note
        assert due.received.leaf_hash is not None
        try:
            answer = await self.log.inclusion(due.received.leaf_hash, self.held.size)
        except LogUnavailableError as exc:
            self.unreachable = exc.message
            return _late(due, exc.message, evidence)
        except LogRefusedError as exc:
            await asyncio.to_thread(mark_refused, engine, due.id, exc.message)
            self.refused.append(f"disclosure {due.id}: {exc.message}")
            return _late(due, exc.message, {**evidence, "error": exc.message})
        if answer is None:
            why = f"de entry staat niet in het checkpoint van grootte {self.held.size}"
            return _Finding(due.id, "ontbrekend", why, evidence)
        verdict = _judge(answer, due, self.held, self.bound)
        if verdict is None:
            return answer
        evidence["answer"] = _answer_json(answer)
        return _Finding(due.id, verdict[0], verdict[1], evidence)


def _alert(engine: Engine, findings: list[_Finding]) -> int:
    """One alert for every disclosure a round found wrong (art. 9), each marked with it."""
    kind = min((f.kind for f in findings), key=SEVERITY.index)
    lines = [
        f"- nr. {f.receipt} ({f.evidence['received']['endpoint']}, "
        f"{f.evidence['received']['received_at']}): {f.kind}: {f.reason}."
        for f in findings
    ]
    summary = (
        f"{len(findings)} mededeling(en) die we ontvingen staan niet (zo) in het logboek "
        "van het Departement:\n" + "\n".join(lines)
    )
    evidence = {
        "disclosures": [{"receipt": f.receipt, "kind": f.kind, **f.evidence} for f in findings]
    }
    about = "receipts " + " ".join(str(f.receipt) for f in findings)
    now = dt.datetime.now(dt.UTC)
    with session_scope(engine) as session:
        alert_id, _ = keep_alert(session, kind, about, summary, evidence)
        for finding in findings:
            row = session.get(ReceivedDisclosure, finding.receipt)
            assert row is not None
            row.status, row.alert_id, row.checked_at = finding.kind, alert_id, now
        return alert_id


async def check_receipts(
    provider: ServiceProvider, log: LogClient, held: HeldCheckpoint | None
) -> ReceiptRound:
    """Issue 12 §3: the inclusion proof of every due disclosure, verified against ``held``;
    what is wrong, one alert. A refused leaf does not stop the others."""
    settings, engine = provider.settings.log, provider.engine
    grace = dt.timedelta(seconds=settings.grace)
    overdue = dt.datetime.now(dt.UTC) - grace - dt.timedelta(seconds=settings.stale)
    provable = held.seen_at - grace if held is not None else None
    asker = _Asker(log, held, await asyncio.to_thread(binding, provider))
    result, findings = ReceiptRound(), []
    for due in await asyncio.to_thread(due_receipts, engine, provable, overdue):
        outcome = await asker.check(engine, due)
        if isinstance(outcome, Inclusion):
            await asyncio.to_thread(mark_proven, engine, due.id, outcome)
            result.proven += 1
        elif outcome is not None:
            findings.append(outcome)
    if asker.unreachable is not None and held is not None:
        result.problems.append(f"inclusion proofs: {asker.unreachable}")
    result.problems += [f"inclusion proof refused for {refusal}" for refusal in asker.refused]
    if findings:
        result.alerts.append(await asyncio.to_thread(_alert, engine, findings))
    return result
