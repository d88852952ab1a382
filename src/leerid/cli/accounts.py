"""``leerid accounts``: the accounts (account_uuid) pupils log in with."""

from __future__ import annotations

import typer

from leerid.cli import account_codes
from leerid.registry.accounts import create_account
from leerid.schema import get_engine
from leerid.store.engine import session_scope

app = typer.Typer(help="Pupils' accounts (account_uuid).", no_args_is_help=True)


@app.callback()
def accounts() -> None:
    """Pupils' accounts (account_uuid)."""


@app.command()
def create(
    leerid_uuid: str = typer.Option(..., "--leerid-uuid", help="Leer_id_uuid of the pupil."),
) -> None:
    """Create one more permanent account for an identified pupil; prints its account_uuid."""
    with session_scope(get_engine(create=False)) as session:
        account_uuid = create_account(session, leerid_uuid)
    typer.echo(account_uuid)


# Issue 4 §4: credentials from the school (leerid.cli.account_codes).
app.command("issue")(account_codes.issue)
app.command("reset")(account_codes.reset)
