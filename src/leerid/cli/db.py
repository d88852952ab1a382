"""``leerid db``: the database schema."""

from __future__ import annotations

import typer

from leerid import config
from leerid.schema import upgrade as upgrade_schema
from leerid.store.engine import make_engine

app = typer.Typer(help="The database: create or migrate its schema.", no_args_is_help=True)


@app.command()
def upgrade(
    revision: str = typer.Argument(
        "heads", help="Target revision (default: all branches at their newest)."
    ),
) -> None:
    """Run the migrations (the embedded SQLite file or $LEERID_DATABASE_URL)."""
    engine = make_engine(config.database_url())
    upgrade_schema(engine, revision)
    typer.echo(f"schema at {revision} on {engine.url.render_as_string(hide_password=True)}")
