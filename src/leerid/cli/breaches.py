"""``leerid breaches``: DOV's breach register (art. 9, GDPR art. 33).

``add`` records a breach and e-mails the DPO of each recipient it concerns; ``update`` adds
information in phases (art. 33.4) and records the supervisory authority's reference or why it
was not told (art. 33.1, 33.5); ``list`` shows both clocks of every breach.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from leerid.cli.breach_options import (
    AuthorityAt,
    AuthorityNotNeeded,
    AuthorityReference,
    authority,
    moment,
)
from leerid.cli.tables import print_table
from leerid.schema import get_engine

app = typer.Typer(
    help="DOV's breach register (art. 9): record, the authority's 72 hours, tell recipients.",
    no_args_is_help=True,
)
out = Console(highlight=False, soft_wrap=True)


def _iso(moment: dt.datetime | None) -> str | None:
    from leerid.duties.breach_clock import aware

    return None if moment is None else aware(moment).isoformat(timespec="seconds")


@app.command("list")
def list_command(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Every breach, newest first, with its clocks: the authority's 72 hours and the DPOs."""
    from leerid.idp.store.console.breaches import list_breaches

    views = list_breaches(get_engine(create=False))
    if as_json:
        out.print(json.dumps([_as_json(v) for v in views], ensure_ascii=False, indent=2))
        return
    table = Table(
        "id", "discovered", "72 h deadline", "authority", "status", "clients", "DPOs told"
    )
    for v in views:
        b, c = v.breach, v.clocks
        left = "overdue" if c.authority.overdue else f"{c.authority.hours_left} h left"
        table.add_row(
            str(b.id),
            _iso(b.discovered_at) or "",
            f"{_iso(c.authority.deadline)} ({left})",
            c.authority_state + (f" {b.authority_reference}" if b.authority_reference else ""),
            b.status,
            b.clients or "all",
            _iso(c.other_party_told_at) or "not yet",
        )
    print_table(out, table)


def _as_json(view: Any) -> dict[str, Any]:
    b, c = view.breach, view.clocks
    return {
        "id": b.id,
        "discovered_at": _iso(b.discovered_at),
        "status": b.status,
        "description": b.description,
        "categories": b.categories,
        "pupils_affected": b.pupils_affected,
        "measures": b.measures,
        "clients": b.clients.split(),
        "authority": {
            "deadline": _iso(c.authority.deadline),
            "state": c.authority_state,
            "late": c.authority_late,
            "notified_at": _iso(b.authority_notified_at),
            "reference": b.authority_reference,
            "not_needed": b.authority_not_needed,
        },
        "hours_since_discovery": c.hours_since_discovery,
        "recipients_told_at": _iso(c.other_party_told_at),
        "updates": [
            {"at": _iso(u.at), "text": u.text, "notified": u.notified} for u in view.updates
        ],
    }


@app.command("add")
def add_command(
    discovered: str = typer.Option(
        ..., help="When it was discovered (ISO; Belgian time if no offset)."
    ),
    description: str = typer.Option(..., help="What happened."),
    categories: str = typer.Option(..., help="Categories of data concerned."),
    pupils: int = typer.Option(..., help="Number of pupils concerned."),
    measures: str = typer.Option(..., help="Measures taken."),
    client: Annotated[
        list[str] | None, typer.Option("--client", help="A recipient concerned (default: all).")
    ] = None,
    by: str = typer.Option("dpo", "--by", help="Who records it (for the staff privacy log)."),
    notify: bool = typer.Option(True, help="E-mail the recipients' DPOs now (art. 9)."),
) -> None:
    """Record a breach at DOV and tell the DPO of each recipient concerned."""
    from leerid.idp.settings import mail_from_env
    from leerid.idp.store.console.breaches import add_breach

    number = add_breach(
        get_engine(create=False),
        mail_from_env(),
        actor=by,
        discovered_at=moment(discovered, "--discovered"),
        description=description,
        categories=categories,
        pupils_affected=pupils,
        measures=measures,
        clients=client or (),
        notify=notify,
    )
    out.print(f"breach {number} recorded" + (" and notified" if notify else ""))


@app.command("update")
def update_command(
    breach_id: int = typer.Argument(...),
    text: str = typer.Option("", help="New information (phased, GDPR art. 33.4)."),
    status: str = typer.Option("", help="open, gemeld or afgesloten."),
    authority_reference: AuthorityReference = None,
    authority_at: AuthorityAt = "",
    authority_not_needed: AuthorityNotNeeded = None,
    notify: bool = typer.Option(False, "--notify", help="Send it to the recipients' DPOs."),
    by: str = typer.Option("dpo", "--by", help="Who records it (for the staff privacy log)."),
) -> None:
    """Add information to a breach, record the authority's answer; optionally tell the DPOs."""
    from leerid.idp.settings import mail_from_env
    from leerid.idp.store.console.breaches import update_breach

    told = authority(authority_reference, authority_at, authority_not_needed)
    update_breach(
        get_engine(create=False),
        mail_from_env(),
        breach_id,
        actor=by,
        text=text or None,
        status=status or None,
        authority=told,
        notify=notify,
    )
    out.print(f"breach {breach_id} updated" + (" and notified" if notify else ""))
