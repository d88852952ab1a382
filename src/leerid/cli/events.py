"""``leerid events``: DOV's Security Event Tokens for the service providers (issue 10, point 3).

``publish`` turns the Department's change feed into signed SETs, one per entitled client
(the provider also does it at each poll); ``list`` shows per client what waits, was
delivered, acknowledged or rejected (counts and event types, never personal data);
``purge`` deletes what is kept no longer (30 days after an answer, 90 unanswered).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from leerid.cli.tables import print_table
from leerid.errors import LeeridError
from leerid.schema import get_engine

app = typer.Typer(
    help="Security events (SETs) DOV sends the service providers (RFC 8417, RFC 8936).",
    no_args_is_help=True,
)
out = Console(highlight=False, soft_wrap=True)


@app.command("publish")
def publish_command(
    issuer: Annotated[
        str | None,
        typer.Option(help="The provider's issuer (the SETs' iss); default: $LEERID_ISSUER."),
    ] = None,
) -> None:
    """Sign a SET for each entitled client of every change not yet published."""
    from leerid.idp import metrics
    from leerid.idp.settings import explicit_issuer
    from leerid.idp.store.event_publisher import publish
    from leerid.idp.store.keys import KeyRing, ensure_keys

    chosen = (issuer or explicit_issuer()).rstrip("/")
    if not chosen.startswith(("http://", "https://")):
        raise LeeridError(
            "give --issuer URL (or set LEERID_ISSUER), the issuer the provider serves, e.g. "
            "https://leerid.example/op: recipients check every SET's iss against it"
        )
    engine = get_engine()
    ensure_keys(engine)
    ring = KeyRing(engine, 3600, 0)
    changes = sets = 0
    while True:
        done = publish(engine, lambda: ring.signing_key("RS256"), chosen, wait=True)
        changes, sets = changes + done.changes, sets + done.sets
        if not done.changes:
            break
    metrics.SETS_PUBLISHED.inc(sets)
    out.print(f"published: {changes} changes as {sets} SETs")


@app.command("list")
def list_command(
    client: Annotated[str | None, typer.Option(help="Only this client id.")] = None,
    pending: Annotated[
        bool, typer.Option("--pending", help="List the SETs not yet acknowledged.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Per client: pending, delivered, acknowledged and rejected SETs (with each error)."""
    from leerid.idp.store.events import ERROR, PENDING, event_lines, summary

    engine = get_engine(create=False)
    with engine.connect() as conn:
        counts = summary(conn, client)
        lines = event_lines(conn, [PENDING, ERROR] if pending else [ERROR], client)
    if as_json:
        data = {"clients": [c.as_json() for c in counts], "sets": [x.as_json() for x in lines]}
        out.print(json.dumps(data, indent=2))
        return
    if not counts:
        out.print("no SETs published yet (leerid events publish)")
        return
    table = Table("client", "pending", "delivered", "acknowledged", "errors", "oldest pending")
    for c in counts:
        oldest = "" if c.oldest_pending is None else c.oldest_pending.strftime("%Y-%m-%d %H:%M")
        table.add_row(
            c.client_id,
            str(c.pending),
            str(c.delivered),
            str(c.acknowledged),
            str(c.errors),
            oldest,
        )
    print_table(out, table)
    if lines:
        sets = Table("client", "jti", "txn", "event type", "state", "made", "err", "description")
        for x in lines:
            made = x.created_at.strftime("%Y-%m-%d %H:%M")
            sets.add_row(
                x.client_id,
                x.jti,
                str(x.txn),
                x.event_type,
                x.state,
                made,
                x.err or "",
                x.description or "",
            )
        print_table(out, sets)


@app.command("purge")
def purge_command() -> None:
    """Delete SETs answered over 30 days ago, unanswered over 90, and the feed behind them."""
    from leerid.idp.store.event_retention import purge_events

    done = purge_events(get_engine(create=False))
    out.print(
        f"purged: {done.acknowledged} answered SETs (over 30 days), {done.unacknowledged} "
        f"never acknowledged (over 90 days), {done.changes} changes of the feed"
    )
    for client_id, count in sorted(done.unacknowledged_by_client.items()):
        out.print(f"  client {client_id}: {count} SETs dropped unacknowledged")
