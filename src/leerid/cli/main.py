"""Entry point of the ``leerid`` command.

Each command group lives in its own module of ``leerid.cli`` and is added here. Errors that
a person caused (``LeeridError``) are printed as one clear message, never as a traceback.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.markup import escape

from leerid.cli import accounts as accounts_cli
from leerid.cli import beheer as beheer_cli
from leerid.cli import breaches as breaches_cli
from leerid.cli import clients as clients_cli
from leerid.cli import db, sp_events
from leerid.cli import demo as demo_cli
from leerid.cli import disclosures as disclosures_cli
from leerid.cli import events as events_cli
from leerid.cli import evidence as evidence_cli
from leerid.cli import idp as idp_cli
from leerid.cli import keys as keys_cli
from leerid.cli import log as log_cli
from leerid.cli import notices as notices_cli
from leerid.cli import protocol as protocol_cli
from leerid.cli import registry as registry_cli
from leerid.cli import reports as reports_cli
from leerid.cli import retention as retention_cli
from leerid.cli import sp as sp_cli
from leerid.cli import sp_duties as sp_duties_cli
from leerid.cli import sp_onward as sp_onward_cli
from leerid.cli import sp_reports as sp_reports_cli
from leerid.cli import sp_staff as sp_staff_cli
from leerid.errors import LeeridError
from leerid.store.engine import allow_creating_databases

app = typer.Typer(
    name="leerid",
    help="LeerID: the pupils' single sign-on, governed by its data-sharing protocols.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def options(
    create: bool = typer.Option(
        False,
        "--create",
        help="Let a command that only reads create a missing database (without it a missing "
        "SQLite file is an error, so a mistyped path never gives an empty database).",
    ),
) -> None:
    """LeerID: the pupils' single sign-on, governed by its data-sharing protocols."""
    allow_creating_databases(create)


app.add_typer(db.app, name="db")
registry_cli.app.command("retention")(retention_cli.retention)
app.add_typer(registry_cli.app, name="registry")
app.add_typer(accounts_cli.app, name="accounts")
app.add_typer(protocol_cli.app, name="protocol")
app.add_typer(idp_cli.app, name="idp")
app.add_typer(clients_cli.app, name="clients")
app.add_typer(keys_cli.app, name="keys")
app.add_typer(disclosures_cli.app, name="disclosures")
sp_cli.app.add_typer(sp_reports_cli.reports_app, name="reports")
sp_cli.app.add_typer(sp_reports_cli.notices_app, name="notices")
sp_cli.app.add_typer(sp_onward_cli.onward_app, name="onward")
sp_cli.app.add_typer(sp_staff_cli.staff_app, name="staff")
sp_cli.app.command("sync")(sp_events.sync)
sp_duties_cli.register(sp_cli.app, sp_cli.log_app)
app.add_typer(sp_cli.app, name="sp")
app.add_typer(reports_cli.app, name="reports")
app.add_typer(events_cli.app, name="events")
app.add_typer(notices_cli.app, name="notices")
app.add_typer(log_cli.app, name="log")
app.add_typer(beheer_cli.app, name="beheer")
app.add_typer(breaches_cli.app, name="breaches")
app.command("evidence")(evidence_cli.evidence)
app.command("demo")(demo_cli.demo)

stderr = Console(stderr=True)


def main() -> None:
    """Run the command line; turn a ``LeeridError`` into a message and an exit status."""
    try:
        app()
    except LeeridError as exc:
        stderr.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
