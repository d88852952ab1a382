"""``leerid idp serve``: run the identity provider (uvicorn)."""

from __future__ import annotations

import os
import tempfile

import typer

from leerid import config
from leerid.idp.settings import IdpSettings
from leerid.store.engine import make_engine, upgrade

app = typer.Typer(help="The identity provider (OpenID Connect).", no_args_is_help=True)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="TCP port."),
    workers: int = typer.Option(1, min=1, help="Worker processes (one per core is typical)."),
) -> None:
    """Serve the provider; issuer from LEERID_ISSUER (default http://127.0.0.1:8000/op)."""
    import uvicorn

    settings = IdpSettings.from_env()  # fails early on a bad issuer
    engine = make_engine(config.database_url())
    upgrade(engine)  # once, before the workers start
    engine.dispose()
    cores = os.cpu_count() or 1
    # Issue 4 §4: at most one hash per core at a time across all workers.
    os.environ.setdefault("LEERID_HASH_CONCURRENCY", str(max(1, cores // workers)))
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="leerid-metrics-")
    typer.echo(f"LeerID identity provider: issuer {settings.issuer}, http://{host}:{port}")
    uvicorn.run(
        "leerid.idp.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_level="warning",
        proxy_headers=False,
    )
