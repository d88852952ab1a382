"""``leerid disclosures list``: who received a pupil's data, when, which attributes.

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
