"""The recipient as witness of DOV's transparency log: one round (issue 12, point 3).

"The kit fetches each new checkpoint, checks consistency with the last one it holds, and
co-signs it (C2SP tlog-cosignature) with its own key; DOV publishes checkpoints with the
recipient's cosignature." A round, in this order (C2SP tlog-witness: a witness cosigns only
a checkpoint it verified, and never one that does not extend the one it holds):

1. fetch DOV's newest checkpoint note and judge it against the held one
   (``log_consistency``): a bad signature is the alert ``handtekening``, a fork
   ``inconsistent``, a stale copy nothing;
2. a verified newer checkpoint is kept with its proof, if no other round kept another
   first (``log_held.keep``: compare-and-set);
3. the newest held checkpoint is cosigned if it is not yet, with the witness key
   (``keys.ProviderSecrets.witness_key``), and the cosignature handed to DOV until it takes it;
4. DOV's silence: a round where DOV did not answer in full starts or continues it; past
   ``[log] stale`` it is the alert ``onbereikbaar``;
5. the inclusion proof of each received disclosure now due (``log_inclusion``);
6. every alert not yet with both DPOs is delivered (``log_alerts``).

A step DOV cannot answer now stops that step only; the round says what it could not do.
The first checkpoint the kit sees is trusted as it is (nothing held to compare with).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select

from leerid.errors import ConfigurationError, LeeridError
from leerid.sp.kit import events_state, log_held
from leerid.sp.kit.log_alerts import deliver_alerts, keep_alert
from leerid.sp.kit.log_client import LogClient, b64url
from leerid.sp.kit.log_consistency import Verdict, judge
from leerid.sp.kit.log_held import Held
from leerid.sp.kit.log_inclusion import check_receipts
from leerid.sp.kit.log_receipts import PROVEN
from leerid.sp.kit.log_settings import HOW_TO_PIN
from leerid.sp.kit.log_tables import LogAlert, ReceivedDisclosure, WitnessState
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.relying_party import RelyingParty
from leerid.store.engine import session_scope
from leerid.transparency.cosignature import Cosigner

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


def witness_vkey(provider: ServiceProvider) -> str:
    """C2SP tlog-cosignature: the witness's verifier key, for DOV to register
    (``leerid log witness add --client ID --key VKEY``)."""
    return _cosigner(provider).vkey


def _cosigner(provider: ServiceProvider) -> Cosigner:
    return Cosigner(provider.settings.log.witness_name, provider.secrets.witness_key)


def _about(held: Held | None) -> str:
    """What an alert about a new checkpoint is about: the held one it fails against (so that
    a log that stays wrong gives one alert, seen again each round)."""
    if held is None:
        return "held none"
    return f"held {held.checkpoint.size} {b64url(held.checkpoint.root)}"


def _alert(engine: Engine, kind: str, about: str, summary: str, evidence: dict[str, Any]) -> int:
    with session_scope(engine) as session:
        return keep_alert(session, kind, about, summary, evidence)[0]


async def _cosign_and_hand_over(
    provider: ServiceProvider, log: LogClient, report: RoundReport
) -> None:
    """Cosign the newest held checkpoint if it is not yet, and hand DOV our cosignature
    until it takes it; a refusal is kept and said (it is retried next round)."""
    engine = provider.engine
    made = await asyncio.to_thread(log_held.cosign_newest, engine, _cosigner(provider))
    newest = await asyncio.to_thread(log_held.held, engine)
    if made is None or newest is None or newest.delivered:
        return
    size, line, now = made
    report.cosigned = now
    try:
        await log.cosign(size, line)
    except LeeridError as exc:
        error = f"DOV did not take our cosignature of size {size}: {exc.message}"
        report.problems.append(
            error + " (is this witness registered at DOV? `leerid sp log witness-key`)"
        )
        await asyncio.to_thread(log_held.delivered, engine, size, error)
        return
    await asyncio.to_thread(log_held.delivered, engine, size, None)
    report.delivered = True


async def _act(
    provider: ServiceProvider,
    verdict: Verdict | None,
    held: Held | None,
    note: str,
    asked: dt.datetime,
    report: RoundReport,
) -> None:
    """Do what the verdict on DOV's newest note says (it was answered)."""
    engine = provider.engine
    if verdict is None:  # nothing new: seen again
        assert held is not None
        await asyncio.to_thread(log_held.seen, engine, held.checkpoint.size, asked)
    elif verdict.alert is not None:
        kind, summary, evidence = verdict.alert
        alert_id = await asyncio.to_thread(_alert, engine, kind, _about(held), summary, evidence)
        report.alerts.append(alert_id)
    elif verdict.checkpoint is not None and verdict.proof is not None:
        start = held.checkpoint if held is not None else None
        kept = await asyncio.to_thread(
            log_held.keep, engine, note, verdict.checkpoint, verdict.proof, start, asked
        )
        report.new_checkpoint = kept
        if not kept:
            report.problems.append(
                f"another witness round kept a checkpoint after size "
                f"{start.size if start else 0} first; this round's checkpoint of size "
                f"{verdict.checkpoint.size} was dropped (not cosigned)"
            )


async def _checkpoint_step(provider: ServiceProvider, log: LogClient, report: RoundReport) -> bool:
    """Steps 1-3: fetch and judge DOV's newest checkpoint, keep it, cosign the newest held.
    True when DOV answered in full (a verdict was reached)."""
    engine = provider.engine
    held = await asyncio.to_thread(log_held.held, engine)
    refused = await asyncio.to_thread(log_held.refused, engine)
    asked = dt.datetime.now(dt.UTC)  # DOV's newest at this moment (for the receipts' grace)
    note = await log.checkpoint()
    start = held.checkpoint if held is not None else None
    verdict = await judge(provider.settings.log, log, note, start, refused)
    if verdict is not None and verdict.retry is not None:
        await asyncio.to_thread(log_held.set_refused, engine, verdict.retry)
        report.problems.append(verdict.problem or "DOV refused a consistency proof")
        return False
    if refused is not None:
        await asyncio.to_thread(log_held.set_refused, engine, None)
    await _act(provider, verdict, held, note, asked, report)
    await _cosign_and_hand_over(provider, log, report)
    return True


async def _round(provider: ServiceProvider, rp: RelyingParty) -> RoundReport:
    report = RoundReport()
    log, engine, settings = LogClient(rp), provider.engine, provider.settings.log
    try:
        answered = await _checkpoint_step(provider, log, report)
    except LeeridError as exc:
        report.problems.append(f"checkpoint: {exc.message}")
        answered = False
    now = dt.datetime.now(dt.UTC)
    silent = await asyncio.to_thread(
        log_held.silence, engine, answered, settings.stale, report.problems, now
    )
    report.alerts += [silent] if silent is not None else []
    held = await asyncio.to_thread(log_held.held, engine)
    report.size = held.checkpoint.size if held is not None else None
    receipts = await check_receipts(provider, log, held.checkpoint if held else None)
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
    held = log_held.held(provider.engine)
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
