"""``leerid sp dossier``, ``leerid sp risk``, ``leerid sp log show`` and ``log who-looked``.

``dossier purge``: the CLB's own dossier after its own retention (art. 3 binds only the
disclosed data). ``risk add|list``: the risk assessment of art. 6, each risk with its
measure. ``log who-looked``: for a pupil's access request, who looked at the file, when and in
which function (the DPO's lookup, logged with a pseudonym); ``log show`` shows every pupil
as a keyed pseudonym (art. 4: the DPO is no recipient of the data).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from leerid.cli import sp_log
from leerid.cli.sp import CONFIG, _provider, _when
from leerid.cli.tables import print_table

dossier_app = typer.Typer(
    help="The CLB's own dossier and its own retention (not art. 3's).", no_args_is_help=True
)
risk_app = typer.Typer(help="The risk assessment (art. 6).", no_args_is_help=True)
out = Console(highlight=False, soft_wrap=True)


def register(sp_app: typer.Typer, log_app: typer.Typer) -> None:
    """Hang these commands under ``leerid sp`` and ``leerid sp log``."""
    sp_app.add_typer(dossier_app, name="dossier")
    sp_app.add_typer(risk_app, name="risk")
    log_app.command("show")(log_show)
    log_app.command("who-looked")(who_looked)
    sp_log.register(log_app)  # the witness of DOV's transparency log (issue 12)


def log_show(
    config: Path | None = CONFIG,
    limit: int = typer.Option(50, help="Newest N entries."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The newest entries (who, when, what, which pupil, why); art. 4: the DPO reads a pupil
    as a keyed pseudonym, never the key itself."""
    from leerid.sp.kit.dpo_log import recent_for_dpo

    provider = _provider(config)
    entries = recent_for_dpo(provider.engine, provider.secrets, limit)
    if as_json:
        rows = [
            {
                "seq": e.seq,
                "at": _when(e.at),
                "actor": e.actor,
                "action": e.action,
                "pupil": e.pupil,
                "purpose": e.purpose,
                "detail": e.detail,
            }
            for e in entries
        ]
        out.print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table("nr", "time", "who", "action", "pupil (pseudonym)", "purpose")
    for e in entries:
        table.add_row(str(e.seq), _when(e.at), e.actor, e.action, e.pupil or "—", e.purpose)
    print_table(out, table)


@dossier_app.command("purge")
def dossier_purge(
    config: Path | None = CONFIG,
    dry_run: bool = typer.Option(False, "--dry-run", help="Count only; delete nothing."),
) -> None:
    """Delete dossier entries and reports whose own retention passed (batches of 1,000, each
    with a receipt in the privacy log); types without a retention are kept and listed."""
    from leerid.sp.kit.dossier import NO_RETENTION, purge

    provider = _provider(config)
    settings = provider.settings.dossier
    result = purge(provider.engine, settings, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    for kind, count in result.deleted.items():
        retention = settings.retention_of(kind)
        rule = f" ({retention.keep} from the last entry; {retention.rule})" if retention else ""
        out.print(f"{kind}: {verb} {count}{rule}", markup=False)
    for kind, count in result.unconfigured.items():
        where = f"[dossier.retention.{kind}]"
        out.print(f"{kind}: {count} kept: {NO_RETENTION} ({where})", markup=False)
    if not dry_run:
        out.print(f"{result.dossiers} dossier(s) gone, {result.batches} batch(es)")


@risk_app.command("add")
def risk_add(
    config: Path | None = CONFIG,
    risk: str = typer.Option(..., "--risk", help="The risk assessed."),
    measures: str = typer.Option(
        ..., "--measures", help="Its technical, organisational or legal measure."
    ),
    date: str = typer.Option(..., "--date", help="When it was assessed (YYYY-MM-DD)."),
    owner: str = typer.Option(..., "--owner", help="Who owns the risk."),
    actor: str = typer.Option("dpo", "--by", help="Who records it (for the privacy log)."),
) -> None:
    """Record one risk with its measure (refused without one); logged."""
    from leerid.sp.kit.risk import add_risk, assessed_on

    provider = _provider(config, create=True)
    number = add_risk(
        provider.engine,
        risk=risk,
        measures=measures,
        day=assessed_on(date),
        owner=owner,
        actor=actor,
    )
    out.print(f"risk {number} recorded")


@risk_app.command("list")
def risk_list(config: Path | None = CONFIG, as_json: bool = typer.Option(False, "--json")) -> None:
    """Every recorded risk with its measure, date and owner."""
    from leerid.sp.kit.risk import list_risks

    risks = list_risks(_provider(config).engine)
    if as_json:
        rows = [
            {
                "id": r.id,
                "risk": r.risk,
                "measures": r.measures,
                "date": r.assessed_on.isoformat(),
                "owner": r.owner,
                "recorded_by": r.recorded_by,
            }
            for r in risks
        ]
        out.print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not risks:
        out.print("no risk recorded: the evidence (m-risico) says 'niet aangetoond'")
        return
    table = Table("id", "date", "owner", "risk", "measures")
    for r in risks:
        table.add_row(str(r.id), r.assessed_on.isoformat(), r.owner, r.risk, r.measures)
    print_table(out, table)


def who_looked(
    config: Path | None = CONFIG,
    pupil: str = typer.Option(..., "--pupil", help="Leer_id_uuid or Account_uuid of the request."),
    as_json: bool = typer.Option(False, "--json"),
    actor: str = typer.Option("dpo", "--by", help="Who looks it up (for the privacy log)."),
) -> None:
    """GDPR art. 15: who looked at this pupil's file, when, in which function (logged)."""
    from leerid.sp.kit.dpo_log import who_looked as lookup
    from leerid.sp.kit.moments import when

    provider = _provider(config)
    labels = {r.id: r.label for r in provider.protocol.roles}
    found = lookup(provider.engine, provider.secrets, pupil, actor=actor, role_labels=labels)
    if as_json:
        rows = [
            {
                "at": look.at.isoformat(),
                "staff": look.actor,
                "function": look.function,
                "act": look.action,
            }
            for look in found.looks
        ]
        out.print(json.dumps({"pupil": found.pseudonym, "looks": rows}, indent=2))
        return
    out.print(f"pupil {found.pseudonym}: {len(found.looks)} staff act(s) on the file")
    table = Table("when", "staff", "function", "act")
    for look in found.looks:
        table.add_row(when(look.at), look.actor, look.function, look.act)
    print_table(out, table)
