"""``leerid keys``: the identity provider's signing keys (issue 4 §2, issue 14 §4)."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from leerid import config
from leerid.cli.tables import print_table
from leerid.idp.settings import IdpSettings
from leerid.idp.store.key_rotation import key_states
from leerid.idp.store.keys import Rotation, rotate_keys
from leerid.schema import get_engine

LEAKED = "use --now for a leaked key (new keys sign at once, the current ones stop)"

app = typer.Typer(help="Signing keys of the identity provider.", no_args_is_help=True)


@app.command()
def rotate(
    now: bool = typer.Option(
        False,
        "--now",
        help="Emergency (a leaked key): new keys sign at once and every other key stops "
        "signing; clients that cached the key set fetch it again on the unknown kid.",
    ),
) -> None:
    """Publish next signing keys (RSA and EC) that sign after LEERID_KEY_PUBLISH_AHEAD_SECONDS;
    old ones stay until their tokens expired and every SET they signed is acknowledged."""
    settings = IdpSettings.from_env()
    engine = get_engine(config.database_url())
    ahead = 0 if now else settings.key_publish_ahead
    done = rotate_keys(engine, settings.id_token_lifetime, ahead)
    if not done.new:
        at = done.activates_at.isoformat(timespec="seconds") if done.activates_at else "?"
        typer.echo(
            f"next signing keys are published already; they sign from {at} (nothing done; "
            "`leerid keys list` shows them)"
        )
        typer.echo(f"the current keys keep signing until {at}; {LEAKED}")
        return
    typer.echo(f"new signing keys: {', '.join(done.new)}")
    if now or done.activates_at is None:
        typer.echo("they sign at once; every server uses them within a few seconds")
    else:
        at = done.activates_at.isoformat(timespec="seconds")
        typer.echo(
            f"published now; they sign from {at} "
            f"(in {ahead} s: clients that cached the key set know them by then)"
        )
        typer.echo(f"the current keys keep signing until {at}; {LEAKED}")
    _say_removed(done)


def _say_removed(done: Rotation) -> None:
    if done.removed:
        typer.echo(f"removed keys no token needs any more: {', '.join(done.removed)}")
    for kid, count in sorted(done.kept.items()):
        # issue 10: a SET is delivered until acknowledged, up to 90 days (RFC 8936 §2.4)
        typer.echo(
            f"kept retired key {kid}: signs {count} SET{'' if count == 1 else 's'} not yet "
            "acknowledged (still published; a later rotation removes it once they are "
            "acknowledged, rejected or purged: see `leerid events list --pending`)"
        )


@app.command("list")
def list_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Each signing key: kid, type, state (next, signing, retired), created, activates,
    retired."""
    states = key_states(get_engine(config.database_url()))
    if as_json:
        typer.echo(json.dumps({"keys": [s.as_json() for s in states]}, indent=2))
        return
    table = Table("kid", "type", "state", "created", "activates", "retired")
    for s in states:
        row = (s.created_at, s.activates_at, s.retired_at)
        times = [t.isoformat(timespec="seconds") if t else "-" for t in row]
        table.add_row(s.kid, s.kty, s.state, *times)
    print_table(Console(), table)
