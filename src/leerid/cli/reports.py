"""``leerid reports``: data-quality reports (art. 7), both ways and from pupils.

``list`` shows every report with its source: from a client (``client``), sent by DOV to a
client (``dov``), or from a pupil on ``/op/v1/mijn-gegevens`` (``pupil``). ``add`` sends one
from DOV to a client that received that pupil's data; ``close`` closes a received one.
"""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from leerid.cli.tables import print_table
from leerid.idp.store.quality_reports import (
    ATTRIBUTES,
    PROBLEMS,
    ReportView,
    close_report,
    list_reports,
)
from leerid.idp.store.report_directions import add_dov_report
from leerid.schema import get_engine

app = typer.Typer(
    help="Data-quality reports (art. 7): from service providers, to them, from pupils.",
    no_args_is_help=True,
)
out = Console(highlight=False, soft_wrap=True)


@app.command("list")
def list_command(
    status: str = typer.Option("", help="open or gesloten (default: all)."),
    source: str = typer.Option("", help="client, dov or pupil (default: all)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Every report, newest first: its source, who it is from or to, and the answer."""
    reports = list_reports(get_engine(create=False), status or None, source or None)
    if as_json:
        out.print(json.dumps([r.as_json() for r in reports], ensure_ascii=False, indent=2))
        return
    table = Table(
        "report",
        "at",
        "source",
        "from / to",
        "pupil key",
        "attribute",
        "problem",
        "status",
        "answer",
        "comment",
    )
    for r in reports:
        table.add_row(
            r.code,
            r.received_at.strftime("%Y-%m-%d %H:%M"),
            r.source,
            _parties(r),
            r.pupil_key,
            r.attribute,
            r.problem,
            r.status,
            f"{r.answer_status}: {r.answer_text}" if r.answer_status else "",
            r.comment,
        )
    print_table(out, table)


def _parties(r: ReportView) -> str:
    """Who a report is from (a client's) or to (DOV's, a pupil's passed on)."""
    if r.source == "client":
        return f"from {r.client_id}"
    if r.source == "dov":
        return f"to {r.client_id} (by {r.operator})"
    return "to " + ", ".join(r.forwarded_to) if r.forwarded_to else "DOV only"


@app.command("add")
def add_command(
    to: str = typer.Option(..., "--to", help="The client (service provider) to tell."),
    pupil: str = typer.Option(..., help="The pupil's Leer_id_uuid or Account_uuid."),
    attribute: str = typer.Option(..., help="One of: " + ", ".join(ATTRIBUTES) + "."),
    problem: str = typer.Option(..., help="One of: " + ", ".join(PROBLEMS) + "."),
    comment: str = typer.Option("", help="What is wrong (no names, no INSZ)."),
    operator: str = typer.Option(..., help="Who at DOV sends it."),
) -> None:
    """Art. 7: tell a client that data it received of a pupil is wrong (sent as an event)."""
    view = add_dov_report(
        get_engine(create=False),
        client_id=to,
        pupil_key=pupil,
        attribute=attribute,
        problem=problem,
        comment=comment,
        operator=operator,
    )
    out.print(f"report {view.code} recorded for {to}; it reaches the client at its next poll")


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
