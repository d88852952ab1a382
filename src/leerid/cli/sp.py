"""``leerid sp``: the service provider's kit and the LARS portal."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from leerid.cli.breach_options import (
    AuthorityAt,
    AuthorityNotNeeded,
    AuthorityReference,
    authority,
    moment,
)
from leerid.cli.tables import print_table
from leerid.errors import LeeridError
from leerid.protocol import IsoDuration

app = typer.Typer(
    help="The service provider (LARS): portal, retention, privacy log, breaches.",
    no_args_is_help=True,
)
log_app = typer.Typer(
    help="The privacy log (art. 6): verify, show, prune; the witness of DOV's log (issue 12).",
    no_args_is_help=True,
)
breaches_app = typer.Typer(help="The breach register (art. 9).", no_args_is_help=True)
app.add_typer(log_app, name="log")
app.add_typer(breaches_app, name="breaches")
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

CONFIG = typer.Option(
    None,
    "--config",
    help="The provider's TOML file (see examples/lars.toml); default $LEERID_SP_CONFIG, "
    "then ./lars.toml, then the demo's.",
)


EVIDENCE_OUT = typer.Option(..., "--out", help="The HTML file to write.")
REGISTER_OUT = typer.Option(None, "--out", help="Write here instead of stdout.")
KEY_OUT = typer.Option(..., "--out", help="Folder for client-key.jwk and client-jwks.json.")


def _provider(config: Path | None, *, create: bool = False):  # type: ignore[no-untyped-def]
    """The provider of ``config`` (found as find_config says); only writers create its database."""
    from leerid.sp.kit.provider import ServiceProvider
    from leerid.sp.kit.settings import find_config, load_settings

    path, why = find_config(config)
    if why != "--config":
        err.print(f"configuration {path.resolve()} ({why})")
    return ServiceProvider(load_settings(path), create=create)


def _when(moment: dt.datetime | None) -> str:
    if moment is None:
        return "—"
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


@app.command()
def serve(
    config: Path | None = CONFIG,
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8001, help="Port to listen on."),
) -> None:
    """Run the portal (pupils log in through LeerID; staff with their own accounts)."""
    import uvicorn

    from leerid.ports import ensure_free
    from leerid.sp.portal.app import create_portal

    ensure_free(host, port)
    provider = _provider(config, create=True)
    out.print(
        f"{provider.settings.name} on http://{host}:{port} (issuer {provider.settings.issuer})"
    )
    # no access log: the callback's query carries an authorization code (no tokens in logs)
    uvicorn.run(create_portal(provider), host=host, port=port, access_log=False, log_level="info")


@app.command()
def purge(
    config: Path | None = CONFIG,
    dry_run: bool = typer.Option(False, "--dry-run", help="Count only; delete nothing."),
) -> None:
    """Art. 3: delete pupils inactive for the protocol's period (batches of 1,000); and the
    staff login throttle's spent rows."""
    from leerid.sp.kit.retention import purge as run_purge
    from leerid.sp.kit.throttle import purge_spent

    provider = _provider(config)
    result = run_purge(provider.engine, provider.retention_period, dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    out.print(
        f"{verb} {result.count} pupil(s) whose last login is before "
        f"{_when(result.cutoff)} ({provider.retention_period}); {result.batches} batch(es)"
    )
    if not dry_run:  # art. 3: the CLB's own dossier is not the disclosed data
        out.print(
            f"kept {result.dossiers_kept} dossier(s) and {result.reports_kept} report(s) "
            "without the LeerID key (see `leerid sp dossier purge`)"
        )
    if not dry_run:
        spent = purge_spent(provider.engine)
        out.print(f"deleted {spent} spent staff login throttle row(s)")


@app.command()
def evidence(
    config: Path | None = CONFIG,
    out_file: Path = EVIDENCE_OUT,
) -> None:
    """Art. 6: evidence of every security measure of the protocol, from the live system."""
    from leerid.sp.portal.evidence_page import evidence_html

    provider = _provider(config)
    out_file.write_text(evidence_html(provider), encoding="utf-8")
    out.print(
        f"evidence for {len(provider.protocol.security_measures)} measures written to {out_file}"
    )


@app.command()
def register(
    config: Path | None = CONFIG,
    fmt: str = typer.Option("md", "--format", help="md, csv or json."),
    out_file: Path | None = REGISTER_OUT,
) -> None:
    """Art. 6 (m-register): our register entry, with our processors (the app's operator
    among them) and the onward recipients DOV was notified of (art. 4)."""
    from leerid.protocol.register import RegisterFormat
    from leerid.sp.kit.recipient_register import recipient_register

    if fmt not in {f.value for f in RegisterFormat}:
        raise LeeridError(f"--format {fmt!r}: use md, csv or json")
    text = recipient_register(_provider(config), fmt)
    if out_file is None:
        sys.stdout.write(text)
        return
    out_file.write_text(text, encoding="utf-8")
    out.print(f"register written to {out_file}")


@app.command()
def keygen(
    out_dir: Path = KEY_OUT,
) -> None:
    """A new RS256 key for private_key_jwt; register client-jwks.json with the provider."""
    from leerid.sp.kit.keys import generate_client_key

    private, public = out_dir / "client-key.jwk", out_dir / "client-jwks.json"
    if private.exists():
        raise LeeridError(f"{private} exists already; remove it first or pick another --out")
    kid = generate_client_key(private, public)
    out.print(f"key {kid}: private {private} (keep secret), public {public} (for --jwks)")


# -- privacy log ---------------------------------------------------------------------------


@log_app.command("verify")
def log_verify(config: Path | None = CONFIG) -> None:
    """Recompute the hash chain; exit 1 when an entry was removed or altered."""
    from leerid.sp.kit.privacy_log import verify

    provider = _provider(config)
    result = verify(provider.engine, provider.secrets)
    if result.ok:
        out.print(
            f"privacy log intact: {result.entries} entries, last {result.last_seq}, "
            f"head {result.head_hash}"
        )
        return
    for problem in result.problems:
        out.print(f"[red]✗[/] {problem}")
    raise typer.Exit(1)


@log_app.command("prune")
def log_prune(
    config: Path | None = CONFIG,
    older_than: str = typer.Option("", help="ISO 8601 period (default: [privacy_log] keep)."),
    dry_run: bool = typer.Option(False, "--dry-run"),
) -> None:
    """Remove entries older than the period, in batches, each with a signed record."""
    from leerid.sp.kit.privacy_log import prune

    provider = _provider(config)
    try:
        period = IsoDuration.parse(older_than) if older_than else provider.privacy_log_keep
    except ValueError as exc:
        raise LeeridError(f"--older-than: {exc}") from None
    result = prune(
        provider.engine, provider.secrets, period.before(dt.datetime.now(dt.UTC)), dry_run=dry_run
    )
    out.print(
        f"{'would prune' if dry_run else 'pruned'} {result.count} entries older than "
        f"{period} in {result.batches} signed batch(es)"
    )


# -- breaches ------------------------------------------------------------------------------


@breaches_app.command("list")
def breaches_list(config: Path | None = CONFIG) -> None:
    """Every breach with its clocks: the authority's 72 hours and the other DPO told."""
    from leerid.sp.kit.breaches import list_breaches

    table = Table(
        "id",
        "discovered",
        "72 h deadline",
        "authority",
        "status",
        "pupils",
        "other DPO told",
        "updates",
    )
    for v in list_breaches(_provider(config).engine):
        clock = "overdue" if v.clock.overdue else f"{v.clock.hours_left} h left"
        table.add_row(
            str(v.breach.id),
            _when(v.breach.discovered_at),
            f"{_when(v.clock.deadline)} ({clock})",
            _authority_text(v.breach),
            v.breach.status,
            str(v.breach.pupils_affected),
            _when(v.breach.other_party_notified_at),
            str(len(v.updates)),
        )
    print_table(out, table)


def _authority_text(breach: Any) -> str:
    """GDPR art. 33.1, 33.5: told (when, reference), not needed (why), or not yet."""
    if breach.authority_notified_at is not None:
        return f"told {_when(breach.authority_notified_at)} ({breach.authority_reference or '-'})"
    if breach.authority_not_needed:
        return f"not needed: {breach.authority_not_needed}"
    return "not yet"


@breaches_app.command("add")
def breaches_add(
    config: Path | None = CONFIG,
    discovered: str = typer.Option(
        ..., help="When it was discovered (ISO; Belgian time if no offset)."
    ),
    description: str = typer.Option(..., help="What happened."),
    categories: str = typer.Option(..., help="Categories of data concerned."),
    pupils: int = typer.Option(..., help="Number of pupils concerned."),
    measures: str = typer.Option(..., help="Measures taken."),
    actor: str = typer.Option("dpo", help="Who records it."),
    notify: bool = typer.Option(True, help="E-mail the other party's DPO now (art. 9)."),
) -> None:
    """Record a breach and notify the other party's DPO."""
    from leerid.sp.kit.breaches import add_breach

    provider = _provider(config, create=True)
    breach_id = add_breach(
        provider.engine,
        provider.settings.mail,
        actor=actor,
        discovered_at=moment(discovered, "--discovered"),
        description=description,
        categories=categories,
        pupils_affected=pupils,
        measures=measures,
        notify=notify,
    )
    out.print(f"breach {breach_id} recorded" + (" and notified" if notify else ""))


@breaches_app.command("update")
def breaches_update(
    breach_id: int = typer.Argument(...),
    config: Path | None = CONFIG,
    text: str = typer.Option("", help="New information (phased, GDPR art. 33.4)."),
    status: str = typer.Option("", help="open, gemeld or afgesloten."),
    authority_notified: bool = typer.Option(
        False, "--authority-notified", help="The authority was told now (no reference yet)."
    ),
    authority_reference: AuthorityReference = None,
    authority_at: AuthorityAt = "",
    authority_not_needed: AuthorityNotNeeded = None,
    notify: bool = typer.Option(False, "--notify", help="Send this update to the other DPO."),
    actor: str = typer.Option("dpo"),
) -> None:
    """Add information to a breach; optionally notify the other party's DPO."""
    from leerid.sp.kit.breaches import update_breach

    told = authority(authority_reference, authority_at, authority_not_needed, authority_notified)
    provider = _provider(config)
    update_breach(
        provider.engine,
        provider.settings.mail,
        breach_id,
        actor=actor,
        text=text or None,
        status=status or None,
        authority=told,
        notify=notify,
    )
    out.print(f"breach {breach_id} updated" + (" and notified" if notify else ""))
