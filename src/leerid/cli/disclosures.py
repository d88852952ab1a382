"""``leerid disclosures list``: who received a pupil's data, when, which attributes; ``leerid
disclosures counts rebuild``: recount the disclosures per day and hour (the console's charts).

GDPR art. 15: the pupil's right of access.
"""

from __future__ import annotations

import json

import typer

from leerid import config
from leerid.errors import LeeridError
from leerid.idp.store.disclosures import list_disclosures
from leerid.schema import get_engine

app = typer.Typer(help="The disclosure log of the identity provider.", no_args_is_help=True)


@app.command("list")
def list_(
    leerid_uuid: str | None = typer.Option(None, "--leerid-uuid", help="A pupil's leer_id_uuid."),
    account_uuid: str | None = typer.Option(None, help="An account_uuid."),
    client: str | None = typer.Option(None, help="A client id."),
    as_json: bool = typer.Option(False, "--json", help="JSON lines instead of a table."),
    limit: int = typer.Option(1000, min=1, help="At most this many records, newest first."),
) -> None:
    """The releases and refusals for one pupil or one client, newest first."""
    if sum(x is not None for x in (leerid_uuid, account_uuid, client)) != 1:
        raise LeeridError("give exactly one of --leerid-uuid, --account-uuid or --client")
    records = list_disclosures(
        get_engine(config.database_url(), create=False),
        leer_id_uuid=leerid_uuid,
        account_uuid=account_uuid,
        client_id=client,
        limit=limit,
    )
    if as_json:
        for record in records:
            typer.echo(json.dumps(record.as_json(), ensure_ascii=False))
        return
    if not records:
        typer.echo("no disclosures recorded")
        return
    for r in records:
        what = ", ".join(r.claims) if r.claims else "-"
        why = f" ({r.reason})" if r.reason else ""
        typer.echo(
            f"{r.at.isoformat(timespec='seconds')}  {r.client_id}  {r.endpoint}  "
            f"{r.outcome}{why}  protocol {r.protocol_id or '-'} {(r.protocol_hash or '')[:12]}  "
            f"account {r.account_uuid or '-'}  claims: {what}"
        )


counts_app = typer.Typer(
    help="The disclosures counted per client and day and per hour (the console's charts).",
    no_args_is_help=True,
)
app.add_typer(counts_app, name="counts")


@counts_app.command("rebuild")
def counts_rebuild() -> None:
    """Recount the disclosures per day and hour from the records (those before the log, and
    those whose log entry is integrated; refused logins are not counted), under the log's
    lock. The integrator does this once by itself after the migration."""
    from leerid.idp.store.tlog.integrate import rebuild_disclosure_counts

    done = rebuild_disclosure_counts(get_engine(config.database_url(), create=False))
    typer.echo(
        f"{done.disclosures} disclosures counted: {done.days} rows per day, "
        f"{done.hours} per hour (log size {done.size})"
    )
