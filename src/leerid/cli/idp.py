"""``leerid idp serve``: run the identity provider (uvicorn)."""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

import typer

from leerid import config
from leerid.cli.workers import Workers, reuse_port_supported
from leerid.errors import LeeridError
from leerid.idp.settings import (
    IdpSettings,
    default_issuer,
    explicit_issuer,
    hash_concurrency_per_worker,
    issuer_port_warning,
    log_level_from_env,
    metrics_dir_from_env,
)
from leerid.idp.store.keys import ensure_keys
from leerid.ports import ensure_free
from leerid.schema import upgrade
from leerid.store.engine import make_engine, require_existing

app = typer.Typer(help="The identity provider (OpenID Connect).", no_args_is_help=True)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="TCP port."),
    workers: int = typer.Option(1, min=1, help="Worker processes (one per core is typical)."),
    log_level: str = typer.Option(
        "",
        help="debug | info | warning (default $LEERID_LOG_LEVEL or warning); info logs "
        "each request (paths only) and each login's outcome, never personal data or tokens.",
    ),
) -> None:
    """Serve the provider; issuer from LEERID_ISSUER (default http://HOST:PORT/op)."""
    import uvicorn

    level = (log_level or log_level_from_env() or "warning").lower()
    if level not in ("debug", "info", "warning", "error"):
        raise LeeridError(f"--log-level {level!r}: use debug, info, warning or error")
    os.environ["LEERID_LOG_LEVEL"] = level
    ensure_free(host, port)
    if not explicit_issuer():  # the workers read it too
        os.environ["LEERID_ISSUER"] = default_issuer(host, port)
    settings = IdpSettings.from_env()  # fails early on a bad issuer
    warning = issuer_port_warning(settings.issuer, port)
    if warning:
        typer.echo(warning, err=True)
    engine = make_engine(config.database_url())
    upgrade(engine)  # once, before the workers start
    ensure_keys(engine)  # the first signing keys, made once rather than by each worker
    engine.dispose()
    # Issue 4 §4: at most one hash per core at a time across all workers (handed to them).
    os.environ["LEERID_HASH_CONCURRENCY"] = str(hash_concurrency_per_worker(workers))
    if workers > 1 and not metrics_dir_from_env():
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="leerid-metrics-")
    typer.echo(f"LeerID identity provider: issuer {settings.issuer}, http://{host}:{port}")
    options: dict[str, Any] = {
        "app": "leerid.idp.app:create_app",
        "factory": True,
        "access_log": level in ("debug", "info"),
        "log_level": level,
        "proxy_headers": False,
    }
    if workers > 1 and reuse_port_supported():  # each worker its own socket (cli/workers.py)
        raise typer.Exit(Workers(workers, options, host, port).run())
    uvicorn.run(host=host, port=port, workers=workers, **options)


@app.command()
def purge(
    dry_run: bool = typer.Option(False, "--dry-run", help="Count, delete nothing."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object."),
) -> None:
    """Delete the provider's records past their retention period (batches of 1,000).

    Expired codes, tokens, assertion ids and ended sessions; disclosure-log releases after
    LEERID_RETENTION_DISCLOSURES (P3Y), refusals after LEERID_RETENTION_REFUSALS (P1Y);
    activation codes, throttle counters: see docs/dov-retention.md. Run it
    daily (cron or a systemd timer); logins go on meanwhile.
    """
    from leerid.idp.store.housekeeping import purge_expired
    from leerid.idp.store.log_retention import LogRetention

    retention = LogRetention.from_env()
    require_existing(config.database_url())  # housekeeping never creates a database
    engine = make_engine(config.database_url())
    counts = purge_expired(engine, dry_run=dry_run, retention=retention)
    if as_json:
        typer.echo(json.dumps({**counts.as_json(), "retention": retention.as_json()}))
        return
    verb = "would delete" if dry_run else "deleted"
    typer.echo(
        f"{verb} {counts.total} rows: {counts.grants} grants, {counts.refresh_tokens} refresh "
        f"tokens, {counts.assertion_jtis} assertion ids, {counts.ended_sessions} ended sessions, "
        f"{counts.disclosures} disclosure-log releases (older than {retention.disclosures}), "
        f"{counts.refusals} refusals (older than {retention.refusals}), "
        f"{counts.activation_codes} activation codes, {counts.login_throttle} throttle counters"
    )
