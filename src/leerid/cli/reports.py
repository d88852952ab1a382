"""``leerid reports``: the Department's DPO handles data-quality reports (art. 7)."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from leerid.cli.tables import print_table
from leerid.idp.store.quality_reports import close_report, list_reports
from leerid.schema import get_engine

app = typer.Typer(
    help="Data-quality reports from service providers (art. 7).", no_args_is_help=True
)
out = Console(highlight=False, soft_wrap=True)


@app.command("list")
def list_command(
    status: str = typer.Option("", help="open or gesloten (default: all)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The reports received, newest first."""
    reports = list_reports(get_engine(create=False), status or None)
    if as_json:
        out.print(json.dumps([r.as_json() for r in reports], ensure_ascii=False, indent=2))
        return
    table = Table(
        "report", "received", "client", "pupil key", "attribute", "problem", "status", "comment"
    )
    for r in reports:
        table.add_row(
            r.code,
            r.received_at.strftime("%Y-%m-%d %H:%M"),
            r.client_id,
            r.pupil_key,
            r.attribute,
            r.problem,
            r.status,
            r.comment,
        )
    print_table(out, table)


@app.command("close")
def close_command(
    report_id: str = typer.Argument(
        ..., help="The report's code, e.g. DQ-7K3M (see `leerid reports list`)."
    ),
    resolution: str = typer.Option(..., help="What was corrected, or why nothing was."),
    by: str = typer.Option("dpo-dov", help="Who closes it."),
) -> None:
    """Close a report with its resolution; the provider reads the status back."""
    view = close_report(get_engine(create=False), report_id, resolution, by)
    out.print(f"report {view.code} closed")
