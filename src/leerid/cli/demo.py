"""``leerid demo``: the whole system on one machine (see ``leerid.demo``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from leerid import config
from leerid.cli.registry import summary_lines, view_json
from leerid.errors import ConfigurationError
from leerid.ports import ensure_free

if TYPE_CHECKING:  # leerid.demo loads Faker and both servers: only `leerid demo` needs it
    from leerid.demo import DemoPupil, DemoWorld

console = Console(highlight=False)
PROTOCOL = typer.Option(
    Path("protocols/dov-lars-glce-2024.yaml"), help="The protocol LARS is bound to."
)


def _print_registry(world: DemoWorld) -> None:
    console.rule("[bold]DISCIMUS → LeerID registry")
    console.print("\n".join(summary_lines(world.import_summary)))
    console.print("\n[bold]Three example pupils[/] (synthetic data):")
    for view in world.examples:
        console.print_json(json.dumps(view_json(view), ensure_ascii=False))


def _print_world(world: DemoWorld, results: list[tuple[DemoPupil, str, str]], title: str) -> None:
    console.rule(f"[bold]{title}")
    console.print(f"identity provider  {world.issuer}/.well-known/openid-configuration")
    console.print(f"LARS portal        {world.lars_url}   (partner school {world.partner_school})")
    pupils = Table(title="Demo pupils: log in at the LARS portal", title_justify="left")
    for column in ("username", "password", "what LARS does"):
        pupils.add_column(column)
    for pupil in world.pupils:
        pupils.add_row(pupil.username, pupil.password, pupil.expected)
    console.print(pupils)
    staff = Table(title=f"Staff: {world.lars_url}/personeel/aanmelden", title_justify="left")
    for column in ("username", "password", "role"):
        staff.add_column(column)
    for member in world.staff:
        staff.add_row(member.username, member.password, member.role)
    console.print(staff)
    dov = Table(title=f"DOV's console: {world.console_url}/aanmelden", title_justify="left")
    for column in ("username", "password", "role"):
        dov.add_column(column)
    for username, password, role in world.dov_staff:
        dov.add_row(username, password, role)
    console.print(dov)
    played = Table(title="Checked just now, over HTTP", title_justify="left")
    for column in ("pupil", "step", "LARS"):
        played.add_column(column)
    for pupil, step, outcome in results:
        played.add_row(pupil.username, step, outcome)
    console.print(played)


def _print_commands(world: DemoWorld) -> None:
    """Where the demo keeps its data, and how to run every other command against it."""
    console.rule("[bold]The demo's data")
    console.print(f"home               {world.home}")
    console.print(f"LARS configuration {world.lars_config}")
    console.print(
        "Every other command, from this folder (another terminal while the servers run):\n"
        f"  export LEERID_DATABASE_URL={world.database_url}   "
        "# registry, accounts, protocol, clients, keys, disclosures, reports\n"
        "  leerid registry stats\n"
        "  leerid sp log verify   # leerid sp … finds the demo's LARS configuration by itself"
    )


def demo(
    pupils: int = typer.Option(2000, min=10, help="Synthetic pupils in the registry."),
    idp_port: int = typer.Option(8000, help="Port of the identity provider."),
    sp_port: int = typer.Option(8001, help="Port of the LARS portal."),
    protocol: Path = PROTOCOL,
    serve: bool = typer.Option(True, help="Keep both servers running until Ctrl-C."),
) -> None:
    """Registry, protocol, identity provider and LARS with demo pupils, in $LEERID_HOME/demo."""
    if idp_port == sp_port:
        raise ConfigurationError(f"--idp-port and --sp-port are both {idp_port}: give two ports")
    ensure_free("127.0.0.1", idp_port, "--idp-port")  # before the long preparation
    ensure_free("127.0.0.1", sp_port, "--sp-port")
    from leerid.demo import prepare, run

    home = config.leerid_home() / "demo"
    console.print(f"[dim]demo folder {home} (emptied first; synthetic data only)[/]")
    world = prepare(home, pupils, protocol, idp_port, sp_port, console.print)
    _print_registry(world)

    def ready(results: list[tuple[DemoPupil, str, str]]) -> None:
        _print_commands(world)
        if serve:
            _print_world(world, results, "LeerID and LARS are running")
            console.print("[bold]Ctrl-C stops both servers.[/]")
        else:
            _print_world(world, results, "Checked (--no-serve: the servers stop now)")

    run(world, idp_port, sp_port, serve, console.print, ready)
