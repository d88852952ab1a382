"""``leerid sp log witness|witness-key|alerts|receipts``: the kit as witness of DOV's log.

Issue 12 §3-4: ``witness`` runs one round by hand (fetch DOV's checkpoint, verify it, cosign
it, ask the inclusion proofs of the disclosures received, deliver the alerts); it exits 1
when the round raised or met an alert and 2 when it could not do everything (DOV
unreachable, our cosignature refused). ``witness-key`` prints the key DOV registers;
``alerts`` and ``receipts`` show the DPO the alerts with their evidence and the proofs kept.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from leerid.cli.sp import CONFIG, _provider, _when
from leerid.cli.tables import print_table

if TYPE_CHECKING:
    from leerid.sp.kit.log_witness import RoundReport
    from leerid.sp.kit.provider import ServiceProvider

out = Console(highlight=False, soft_wrap=True, markup=False)
AS_JSON = typer.Option(False, "--json", help="Print JSON.")


def register(log_app: typer.Typer) -> None:
    """Hang these commands under ``leerid sp log``."""
    log_app.command("witness")(witness)
    log_app.command("witness-key")(witness_key)
    log_app.command("alerts")(alerts)
    log_app.command("receipts")(receipts)


def _round(provider: ServiceProvider) -> RoundReport:
    from leerid.sp.kit.log_witness import witness_round
    from leerid.sp.kit.relying_party import RelyingParty

    async def once() -> RoundReport:
        rp = RelyingParty(provider.settings)
        try:
            return await witness_round(provider, rp)
        finally:
            await rp.aclose()

    return asyncio.run(once())


def witness(config: Path | None = CONFIG, as_json: bool = AS_JSON) -> None:
    """One witness round of DOV's transparency log (exit 1: an alert; 2: not all done)."""
    provider = _provider(config, create=True)
    try:
        report = _round(provider)
    finally:
        provider.engine.dispose()
    if as_json:
        out.print(json.dumps(report.as_json(), indent=2))
    else:
        held = "none yet" if report.size is None else f"size {report.size}"
        news = "new, verified" if report.new_checkpoint else "no new one"
        cosigned = "cosigned" + (" and handed to DOV" if report.delivered else "")
        out.print(f"checkpoint held: {held} ({news}{', ' + cosigned if report.cosigned else ''})")
        out.print(f"inclusion proofs verified and kept: {report.proven}")
        for alert_id in report.alerts:
            out.print(f"ALERT {alert_id}: see `leerid sp log alerts --id {alert_id}`")
        for problem in report.problems:
            out.print(f"not done: {problem}")
    if report.alerts:
        raise typer.Exit(1)
    if report.problems:
        raise typer.Exit(2)


def witness_key(config: Path | None = CONFIG) -> None:
    """The witness's verifier key (C2SP tlog-cosignature), for DOV to register with
    `leerid log witness add --client CLIENT_ID --key VKEY`."""
    from leerid.sp.kit.log_witness import witness_vkey

    provider = _provider(config, create=True)
    out.print(witness_vkey(provider))
    provider.engine.dispose()


def alerts(
    config: Path | None = CONFIG,
    alert_id: int = typer.Option(0, "--id", help="One alert, with its evidence."),
    as_json: bool = AS_JSON,
) -> None:
    """The alerts about DOV's log (newest first), each with its evidence and delivery."""
    from leerid.sp.kit.log_alerts import get_alert, list_alerts

    engine = _provider(config).engine
    found = [get_alert(engine, alert_id)] if alert_id else list_alerts(engine)
    if as_json or alert_id:
        out.print(json.dumps([a.as_json() for a in found], ensure_ascii=False, indent=2))
        return
    if not found:
        out.print("no alerts: every checkpoint and inclusion proof checked so far was sound")
        return
    table = Table("id", "kind", "raised", "seen", "our DPO mailed", "notice", "summary")
    for a in found:
        table.add_row(
            str(a.id),
            a.kind,
            _when(a.raised_at),
            str(a.times_seen),
            _when(a.dpo_mailed_at),
            str(a.notice_id or "—"),
            a.summary,
        )
    print_table(out, table)


def receipts(
    config: Path | None = CONFIG,
    status: str = typer.Option("", help="Only pending, proven, ontbrekend or afwijkend."),
    as_json: bool = AS_JSON,
) -> None:
    """The disclosures received and their inclusion proofs (the DPO's export: --json)."""
    from leerid.sp.kit.log_receipts import receipts as kept

    rows = kept(_provider(config).engine, status or None)
    if as_json:
        out.print(json.dumps(rows, indent=2))
        return
    table = Table("id", "received", "endpoint", "status", "index", "size", "alert")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["received_at"],
            r["endpoint"],
            r["status"],
            "—" if r["index"] is None else str(r["index"]),
            "—" if r["size"] is None else str(r["size"]),
            str(r["alert"] or "—"),
        )
    print_table(out, table)
