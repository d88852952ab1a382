"""``leerid notices``: the recipients' notices to the Department (art. 9, and art. 4's prior
notice of an onward disclosure) and processor lists (art. 6): list and acknowledge notices,
ask a recipient for its current processor list."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from leerid.cli.tables import print_table
from leerid.idp.store.notices import (
    acknowledge_notice,
    list_notices,
    list_processor_requests,
    request_processors,
)
from leerid.schema import get_engine

app = typer.Typer(
    help="Notices from service providers (art. 9) and processor lists (art. 6).",
    no_args_is_help=True,
)
out = Console(highlight=False, soft_wrap=True)


def _recipient(onward: dict[str, str]) -> str:
    """Art. 4: the onward recipient a ``doorgifte`` notice announces."""
    return (
        f"{onward['name']} (KBO {onward['kbo']}): {onward['purpose']}; "
        f"legal basis: {onward['legal_basis']}"
    )


@app.command("list")
def list_command(
    pending: bool = typer.Option(False, "--pending", help="Only notices not yet acknowledged."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The notices received, newest first, and DOV's requests for processor lists."""
    engine = get_engine(create=False)
    notices = list_notices(engine, pending=pending)
    requests = list_processor_requests(engine)
    if as_json:
        data = {
            "notices": [n.as_json() for n in notices],
            "processor_requests": [
                {
                    "id": str(r.id),
                    "client_id": r.client_id,
                    "requested_at": r.requested_at.isoformat(),
                    "operator": r.operator,
                    "answered_by_notice": str(r.answered_by) if r.answered_by else None,
                }
                for r in requests
                if not pending or r.answered_by is None
            ],
        }
        out.print(json.dumps(data, ensure_ascii=False, indent=2))
        return
    table = Table(
        "notice",
        "received",
        "client",
        "kind",
        "text",
        "processors / onward recipient",
        "acknowledged",
    )
    for n in notices:
        table.add_row(
            str(n.id),
            n.received_at.strftime("%Y-%m-%d %H:%M"),
            n.client_id,
            n.kind,
            n.text,
            _recipient(n.onward_recipient)
            if n.onward_recipient
            else "; ".join(f"{p['name']} ({p['location']})" for p in n.processors or []),
            f"{n.acknowledged_at:%Y-%m-%d %H:%M} by {n.acknowledged_by}"
            if n.acknowledged_at
            else "pending",
        )
    print_table(out, table)
    waiting = [r for r in requests if r.answered_by is None]
    for r in waiting:
        out.print(
            f"processor list asked of {r.client_id} on {r.requested_at:%Y-%m-%d %H:%M} "
            f"by {r.operator}: not answered yet"
        )


@app.command("ack")
def ack_command(
    notice_id: str = typer.Argument(..., help="The notice's number (see `leerid notices list`)."),
    operator: str = typer.Option(..., help="Who at DOV acknowledges it."),
) -> None:
    """Art. 9: acknowledge a notice; the recipient hears of it at its next poll."""
    view = acknowledge_notice(get_engine(create=False), notice_id, operator)
    out.print(f"notice {view.id} of {view.client_id} acknowledged")


@app.command("request-processors")
def request_command(
    client: str = typer.Option(..., help="The client (service provider) to ask."),
    operator: str = typer.Option(..., help="Who at DOV asks."),
) -> None:
    """Art. 6: ask a recipient for its current processor list (sent as an event)."""
    request_processors(get_engine(create=False), client, operator)
    out.print(
        f"asked {client} for its processor list; its next `leerid sp notices send --kind "
        "verwerkers` answers it"
    )
