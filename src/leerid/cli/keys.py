"""``leerid keys``: the identity provider's signing keys."""

from __future__ import annotations

import typer

from leerid import config
from leerid.idp.settings import IdpSettings
from leerid.idp.store.keys import rotate_keys
from leerid.schema import get_engine

app = typer.Typer(help="Signing keys of the identity provider.", no_args_is_help=True)


@app.command()
def rotate() -> None:
    """Publish new signing keys (RSA and EC); old ones stay until their tokens expired."""
    engine = get_engine(config.database_url())
    new, removed = rotate_keys(engine, IdpSettings.from_env().id_token_lifetime)
    typer.echo(f"new signing keys: {', '.join(new)}")
    if removed:
        typer.echo(f"removed keys no token needs any more: {', '.join(removed)}")
    typer.echo("every server publishes and uses them within a few seconds")
