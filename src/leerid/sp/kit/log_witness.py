"""The recipient as witness of DOV's transparency log: one round (issue 12, point 3).

"The kit fetches each new checkpoint, checks consistency with the last one it holds, and
co-signs it (C2SP tlog-cosignature) with its own key; DOV publishes checkpoints with the
recipient's cosignature." A round, in this order (C2SP tlog-witness: a witness cosigns only
a checkpoint it verified, and never one that does not extend the one it holds):

1. fetch DOV's newest checkpoint note and open it with DOV's pinned key (``[log] vkey``;
   C2SP signed-note) and the expected origin (C2SP tlog-checkpoint): bad or missing →
   alert ``handtekening``;
2. against the held checkpoint: a smaller size, another root at the same size, or a
   consistency proof (RFC 9162 §2.1.4.2) that fails → alert ``inconsistent``, with both notes
   and the proof; the held checkpoint stays;
3. a verified newer checkpoint is kept with its proof, cosigned with the witness key
   (``keys.ProviderSecrets.witness_key``) and the cosignature handed to DOV;
4. the inclusion proof of each received disclosure now due (``log_receipts``);
5. every alert not yet with both DPOs is delivered (``log_alerts``).

A step DOV cannot answer now stops that step only; the round says what it could not do.
The first checkpoint the kit sees is trusted as it is (nothing held to compare with).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select

from leerid.errors import ConfigurationError, LeeridError
from leerid.sp.kit import events_state
from leerid.sp.kit.log_alerts import deliver_alerts, keep_alert
from leerid.sp.kit.log_client import LogClient, b64url, unb64url
from leerid.sp.kit.log_receipts import PROVEN, HeldCheckpoint, check_receipts
from leerid.sp.kit.log_settings import HOW_TO_PIN
from leerid.sp.kit.log_tables import (
    LogAlert,
    ReceivedDisclosure,
    WitnessedCheckpoint,
    WitnessState,
)
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.relying_party import RelyingParty
from leerid.store.engine import session_scope
from leerid.transparency.checkpoint import Checkpoint, open_checkpoint
from leerid.transparency.cosignature import Cosigner
from leerid.transparency.note import NoteError, Verifier
from leerid.transparency.rfc9162 import ProofError, verify_consistency

__all__ = [
    "RoundReport",
    "WitnessBusyError",
    "witness_facts",
    "witness_round",
    "witness_vkey",
]


class WitnessBusyError(LeeridError):
    """Another process runs a witness round right now."""


@dataclass
class RoundReport:
    """What one round did: the checkpoint held after it, whether it was new and cosigned,
    how many disclosures got their proof, the alerts raised or seen again, what failed."""

    size: int | None = None
    new_checkpoint: bool = False
    cosigned: bool = False
    delivered: bool = False
    proven: int = 0
    alerts: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "new_checkpoint": self.new_checkpoint,
            "cosigned": self.cosigned,
            "delivered": self.delivered,
            "proven": self.proven,
            "alerts": self.alerts,
            "problems": self.problems,
        }


@dataclass(frozen=True)
class _Held:
    checkpoint: HeldCheckpoint
    cosignature: str | None
    delivered: bool


def witness_vkey(provider: ServiceProvider) -> str:
    """C2SP tlog-cosignature: the witness's verifier key, for DOV to register
    (``leerid log witness add --client ID --key VKEY``)."""
    return _cosigner(provider).vkey


def _cosigner(provider: ServiceProvider) -> Cosigner:
    return Cosigner(provider.settings.log.witness_name, provider.secrets.witness_key)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _held(engine: Engine) -> _Held | None:
    """The newest checkpoint the witness verified, or None before the first."""
    with session_scope(engine) as session:
        row = session.scalars(
            select(WitnessedCheckpoint).order_by(WitnessedCheckpoint.size.desc()).limit(1)
        ).first()
        if row is None:
            return None
        held = HeldCheckpoint(row.size, unb64url(row.root), row.note, _aware(row.seen_at))
        return _Held(held, row.cosignature, row.delivered_at is not None)


def _about(held: _Held | None) -> str:
    """What an alert about a new checkpoint is about: the held one it fails against (so that
    a log that stays wrong gives one alert, seen again each round)."""
    if held is None:
        return "held none"
    return f"held {held.checkpoint.size} {b64url(held.checkpoint.root)}"


def _alert(engine: Engine, kind: str, about: str, summary: str, evidence: dict[str, Any]) -> int:
    with session_scope(engine) as session:
        return keep_alert(session, kind, about, summary, evidence)[0]


@dataclass(frozen=True)
class _Verdict:
    """A verified checkpoint and its consistency proof, or the alert to raise."""

    checkpoint: Checkpoint | None = None
    proof: list[bytes] | None = None
    alert: tuple[str, str, dict[str, Any]] | None = None  # kind, summary, evidence


def _opened(provider: ServiceProvider, note: str) -> Checkpoint | _Verdict:
    """C2SP signed-note and tlog-checkpoint: DOV's signature with the pinned key, and the
    origin this log's checkpoints carry."""
    settings = provider.settings.log
    assert settings.vkey is not None
    try:
        checkpoint, _ = open_checkpoint(note, Verifier.from_vkey(settings.vkey))
    except NoteError as exc:
        summary = (
            f"Het checkpoint draagt geen geldige handtekening van het Departement: {exc.message}"
        )
        return _Verdict(alert=("handtekening", summary, {"note": note}))
    expected = settings.expected_origin
    if expected is not None and checkpoint.origin != expected:
        summary = (
            f"Het checkpoint is van logboek {checkpoint.origin!r}, niet van {expected!r} "
            "(de origin bij [log] vkey)"
        )
        return _Verdict(alert=("handtekening", summary, {"note": note}))
    return checkpoint


async def _judge(
    provider: ServiceProvider, log: LogClient, note: str, held: _Held | None
) -> _Verdict | None:
    """The verdict on DOV's newest note against the held checkpoint (None: nothing new)."""
    opened = _opened(provider, note)
    if isinstance(opened, _Verdict):
        return opened
    if held is None:
        return _Verdict(checkpoint=opened, proof=[])
    old = held.checkpoint
    if opened.size == old.size and opened.root == old.root:
        return None
    evidence: dict[str, Any] = {"held": old.note, "new": note}
    proof: list[bytes] = []
    if opened.size > old.size:
        proof = await log.consistency(old.size, opened.size)
        evidence["proof"] = [b64url(h) for h in proof]
    try:
        verify_consistency(old.size, opened.size, old.root, opened.root, proof)
    except ProofError as exc:
        summary = (
            f"Het checkpoint van grootte {opened.size} bouwt niet verder op het checkpoint "
            f"van grootte {old.size} dat we eerder zagen en medeondertekenden: {exc.message}. "
            "Het Departement toont dus niet iedereen hetzelfde logboek, of herschreef het."
        )
        return _Verdict(alert=("inconsistent", summary, evidence))
    return _Verdict(checkpoint=opened, proof=proof)


def _keep(
    engine: Engine,
    note: str,
    checkpoint: Checkpoint,
    proof: list[bytes],
    held: _Held | None,
    now: dt.datetime,
) -> None:
    with session_scope(engine) as session:
        session.add(
            WitnessedCheckpoint(
                size=checkpoint.size,
                origin=checkpoint.origin,
                root=b64url(checkpoint.root),
                note=note,
                fetched_at=now,
                seen_at=now,
                from_size=held.checkpoint.size if held is not None else None,
                consistency_proof=json.dumps([b64url(h) for h in proof]),
            )
        )


def _seen(engine: Engine, size: int, now: dt.datetime) -> None:
    """The held checkpoint was DOV's newest again at ``now``."""
    with session_scope(engine) as session:
        row = session.get(WitnessedCheckpoint, size)
        assert row is not None
        row.seen_at = now


def _cosign(provider: ServiceProvider, checkpoint: Checkpoint) -> str:
    """C2SP tlog-cosignature: our cosignature line of a verified checkpoint, kept."""
    now = dt.datetime.now(dt.UTC)
    line = _cosigner(provider).cosign(checkpoint.body(), int(now.timestamp())).line()
    with session_scope(provider.engine) as session:
        row = session.get(WitnessedCheckpoint, checkpoint.size)
        assert row is not None
        row.cosignature, row.cosigned_at = line, now
    return line


def _delivered(engine: Engine, size: int, error: str | None) -> None:
    with session_scope(engine) as session:
        row = session.get(WitnessedCheckpoint, size)
        assert row is not None
        if error is None:
            row.delivered_at, row.delivery_error = dt.datetime.now(dt.UTC), None
        else:
            row.delivery_error = error[:400]


async def _hand_over(
    provider: ServiceProvider, log: LogClient, size: int, line: str, report: RoundReport
) -> None:
    """Hand DOV our cosignature; a refusal is kept and said (it is retried next round)."""
    try:
        await log.cosign(size, line)
    except LeeridError as exc:
        error = f"DOV did not take our cosignature of size {size}: {exc.message}"
        report.problems.append(
            error + " (is this witness registered at DOV? `leerid sp log witness-key`)"
        )
        await asyncio.to_thread(_delivered, provider.engine, size, error)
        return
    await asyncio.to_thread(_delivered, provider.engine, size, None)
    report.delivered = True


async def _checkpoint_step(provider: ServiceProvider, log: LogClient, report: RoundReport) -> None:
    """Steps 1-3: fetch, verify, keep and cosign DOV's newest checkpoint (or raise its alert)."""
    engine = provider.engine
    held = await asyncio.to_thread(_held, engine)
    asked = dt.datetime.now(dt.UTC)  # DOV's newest at this moment (for the receipts' grace)
    note = await log.checkpoint()
    verdict = await _judge(provider, log, note, held)
    if verdict is None:  # nothing new: seen again; hand over a cosignature DOV did not take
        assert held is not None
        await asyncio.to_thread(_seen, engine, held.checkpoint.size, asked)
        if held.cosignature and not held.delivered:
            await _hand_over(provider, log, held.checkpoint.size, held.cosignature, report)
        return
    if verdict.alert is not None:
        kind, summary, evidence = verdict.alert
        alert_id = await asyncio.to_thread(_alert, engine, kind, _about(held), summary, evidence)
        report.alerts.append(alert_id)
        return
    assert verdict.checkpoint is not None and verdict.proof is not None
    await asyncio.to_thread(_keep, engine, note, verdict.checkpoint, verdict.proof, held, asked)
    report.new_checkpoint = True
    line = await asyncio.to_thread(_cosign, provider, verdict.checkpoint)
    report.cosigned = True
    await _hand_over(provider, log, verdict.checkpoint.size, line, report)


async def _round(provider: ServiceProvider, rp: RelyingParty) -> RoundReport:
    report = RoundReport()
    log = LogClient(rp)
    try:
        await _checkpoint_step(provider, log, report)
    except LeeridError as exc:
        report.problems.append(f"checkpoint: {exc.message}")
    held = await asyncio.to_thread(_held, provider.engine)
    if held is not None:
        report.size = held.checkpoint.size
        receipts = await check_receipts(provider, log, held.checkpoint)
        report.proven, report.problems = receipts.proven, report.problems + receipts.problems
        report.alerts += receipts.alerts
    report.problems += await deliver_alerts(provider, rp)
    return report


async def witness_round(provider: ServiceProvider, rp: RelyingParty) -> RoundReport:
    """Issue 12 §3: one witness round (``leerid sp log witness``, the portal's witness loop);
    ``WitnessBusyError`` while another process runs one."""
    if not provider.settings.log.enabled:
        raise ConfigurationError(
            f"{provider.settings.path}: the witness needs DOV's log key: {HOW_TO_PIN}"
        )
    holder = secrets.token_hex(8)
    engine = provider.engine
    if not await asyncio.to_thread(events_state.take_lease, engine, holder, None, WitnessState):
        raise WitnessBusyError(
            "another process runs a witness round right now; wait a moment and run "
            "`leerid sp log witness` again"
        )
    error: str | None = "the round stopped"
    try:
        report = await _round(provider, rp)
        error = "; ".join(report.problems) or None
        return report
    finally:
        await asyncio.to_thread(
            events_state.release, engine, holder, error=error, state=WitnessState
        )


def witness_facts(provider: ServiceProvider) -> list[tuple[str, str]]:
    """Art. 6 (evidence): what the witness of DOV's log holds, in the DPO's words."""
    if not provider.settings.log.enabled:
        return [("Transparantielogboek van het Departement", "niet gecontroleerd ([log] vkey)")]
    held = _held(provider.engine)
    with session_scope(provider.engine) as session:
        alerts = session.scalar(select(func.count()).select_from(LogAlert)) or 0
        proven = session.scalar(select(func.count()).where(ReceivedDisclosure.status == PROVEN))
    state = "nog geen checkpoint gezien"
    if held is not None:
        seen = held.checkpoint.seen_at.isoformat(timespec="minutes")
        state = f"gecontroleerd en medeondertekend tot grootte {held.checkpoint.size} ({seen})"
    return [
        ("Transparantielogboek van het Departement", state),
        ("Bewijzen van opname van ontvangen mededelingen", str(proven or 0)),
        ("Alarmen over het logboek", f"{alerts} (`leerid sp log alerts`)"),
    ]
