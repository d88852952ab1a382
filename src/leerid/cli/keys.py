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
    """Publish new signing keys (RSA and EC); old ones stay until their tokens expired and
    every SET they signed is acknowledged."""
    engine = get_engine(config.database_url())
    done = rotate_keys(engine, IdpSettings.from_env().id_token_lifetime)
    typer.echo(f"new signing keys: {', '.join(done.new)}")
    if done.removed:
        typer.echo(f"removed keys no token needs any more: {', '.join(done.removed)}")
    for kid, count in sorted(done.kept.items()):
        # issue 10: a SET is delivered until acknowledged, up to 90 days (RFC 8936 §2.4)
        typer.echo(
            f"kept retired key {kid}: signs {count} SET{'' if count == 1 else 's'} not yet "
            "acknowledged (still published; a later rotation removes it once they are "
            "acknowledged, rejected or purged: see `leerid events list --pending`)"
        )
    typer.echo("every server publishes and uses them within a few seconds")
