"""``leerid sp onward``: onward recipients (art. 4), announced to DOV beforehand, and exports.

``notify`` registers a recipient, asks DOV whether it is a LeerID service provider and sends
the ``doorgifte`` notice (HTTP and e-mail to DOV's DPO); ``list`` shows the register;
``export`` passes the pupils of some schools on to a notified recipient, or refuses (logged).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from leerid.cli.sp import CONFIG, _provider
from leerid.cli.sp_reports import _when, _with_rp
from leerid.cli.tables import print_table
from leerid.errors import LeeridError

onward_app = typer.Typer(
    help="Onward recipients (art. 4): notified to DOV beforehand; exports to them.",
    no_args_is_help=True,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)
SCHOOLS = typer.Option(..., "--school", help="An instellingsnummer in the actor's scope (repeat).")
EXPORT_OUT = typer.Option(..., "--out", help="The JSON file to write.")


@onward_app.command("notify")
def onward_notify(
    recipient: str = typer.Option(..., help="The recipient's name (an organisation)."),
    kbo: str = typer.Option(..., help="Its KBO number: 0123.456.789, 0123456789 or BE0123456789."),
    purpose: str = typer.Option(..., help="Why the data is passed on (no pupils' data)."),
    legal_basis: str = typer.Option(..., help="The legal basis of the disclosure."),
    actor: str = typer.Option("dpo", help="Who registers it."),
    config: Path | None = CONFIG,
) -> None:
    """Art. 4: register an onward recipient and notify DOV beforehand (HTTP and e-mail)."""
    from leerid.sp.kit.onward import notify

    done = _with_rp(
        config,
        lambda p, rp: notify(
            p, rp, name=recipient, kbo=kbo, purpose=purpose, legal_basis=legal_basis, actor=actor
        ),
    )
    notice = done.delivery.notice_id
    if done.notified_at is None:
        raise LeeridError(
            f"recipient KBO {done.kbo} is kept but DOV was not notified (notice {notice}): "
            + "; ".join(done.problems)
            + f"; fix it and run `leerid sp notices resend {notice}` before any export"
        )
    for problem in done.problems:
        err.print(f"warning: {problem}; `leerid sp notices resend {notice}` completes it")
    out.print(
        f"recipient KBO {done.kbo} registered; DOV notified on {_when(done.notified_at)} "
        f"(notice {notice}"
        + (f", DOV's id {done.delivery.remote_id})" if done.delivery.remote_id else ")")
    )


def _iso(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).isoformat()


def _answer(value: bool | None) -> str:
    if value is None:
        return "not asked"
    return "LeerID service provider: refused" if value else "no LeerID service provider"


@onward_app.command("list")
def onward_list(
    config: Path | None = CONFIG,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The onward recipients: purpose, legal basis, when DOV was notified, DOV's answer."""
    from leerid.sp.kit.onward import list_recipients

    rows = list_recipients(_provider(config, create=True))
    if as_json:
        data = [
            {
                "name": r.name,
                "kbo": r.kbo,
                "purpose": r.purpose,
                "legal_basis": r.legal_basis,
                "notice": r.notice_id,
                "notified_at": _iso(r.notified_at),
                "leerid_service_provider": r.leerid_service_provider,
                "checked_at": _iso(r.checked_at),
            }
            for r in rows
        ]
        out.print(json.dumps(data, ensure_ascii=False, indent=2))
        return
    table = Table("recipient", "KBO", "purpose", "legal basis", "notified", "DOV's answer")
    for r in rows:
        table.add_row(
            r.name,
            r.kbo,
            r.purpose,
            r.legal_basis,
            _when(r.notified_at) if r.notified_at else "not notified",
            _answer(r.leerid_service_provider),
        )
    print_table(out, table)


@onward_app.command("export")
def onward_export(
    recipient: str = typer.Option(..., help="The recipient's KBO number."),
    actor: str = typer.Option(..., help="The staff account that passes the data on."),
    school: list[str] = SCHOOLS,
    out_file: Path = EXPORT_OUT,
    attributes: str | None = typer.Option(
        None, help="Comma-separated art. 3 attributes (default: all that may be passed on)."
    ),
    config: Path | None = CONFIG,
) -> None:
    """Art. 4: pass the pupils of the schools on to a notified recipient (logged)."""
    from leerid.sp.kit.onward_export import export

    asked = attributes.split(",") if attributes is not None else None
    done = _with_rp(
        config,
        lambda p, rp: export(
            p, rp, kbo=recipient, actor=actor, schools=school, out=out_file, attributes=asked
        ),
    )
    out.print(
        f"{done.pupils} pupil(s) written to {done.path} ({', '.join(done.attributes)}); "
        f"SHA-256 {done.sha256}; logged in the privacy log"
    )
