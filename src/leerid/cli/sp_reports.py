"""``leerid sp reports`` and ``leerid sp notices``: the recipient's side of art. 7, 9 and 6.

``reports list|answer``: the data-quality reports DOV sent us (its own, or a pupil's) and our
answer, posted to DOV at once. ``notices send|resend|list|dov-processors``: our notices of a
change in law or of processors (over HTTP and by e-mail to DOV's DPO), DOV's requests for our
processor list, and DOV's own list.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import typer
from rich.console import Console
from rich.table import Table

from leerid.cli.sp import CONFIG, _provider
from leerid.cli.tables import print_table

reports_app = typer.Typer(
    help="Data-quality reports DOV sent us (art. 7), and our answers.", no_args_is_help=True
)
notices_app = typer.Typer(
    help="Notices to DOV (art. 9) and processor lists (art. 6).", no_args_is_help=True
)
out = Console(highlight=False, soft_wrap=True)
T = TypeVar("T")


def _when(moment: dt.datetime | None) -> str:
    if moment is None:
        return "—"
    moment = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _with_rp(config: Path | None, call: Callable[..., Awaitable[T]]) -> T:
    """Run ``call(provider, rp)`` with this configuration's client at DOV."""
    from leerid.sp.kit.relying_party import RelyingParty

    provider = _provider(config, create=True)

    async def run() -> T:
        rp = RelyingParty(provider.settings)
        try:
            return await call(provider, rp)
        finally:
            await rp.aclose()

    return asyncio.run(run())


@reports_app.command("list")
def reports_list(config: Path | None = CONFIG) -> None:
    """The reports DOV sent us, newest first, with our answer."""
    from leerid.sp.kit.dov_reports import list_dov_reports
    from leerid.sp.kit.privacy_log import pseudonym

    provider = _provider(config, create=True)
    table = Table("report", "received", "from", "pupil", "attribute", "problem", "answer")
    for r in list_dov_reports(provider):
        answer = f"{r.answer_status} ({_when(r.answered_at)})" if r.answer_status else "open"
        table.add_row(
            r.code,
            _when(r.received_at),
            "pupil, via DOV" if r.source == "pupil" else "DOV",
            # art. 4: a pseudonym (the DPO answers here); none once art. 3 detached it
            pseudonym(provider.secrets, r.pupil_key) if r.pupil_key else "removed (art. 3)",
            r.attribute,
            r.problem,
            answer,
        )
    print_table(out, table)


@reports_app.command("answer")
def reports_answer(
    code: str = typer.Argument(..., help="DOV's code of the report, e.g. DQ-7K3M2P."),
    status: str = typer.Option(..., help="in-behandeling, opgelost or afgewezen."),
    text: str = typer.Option(..., help="What was done, or why not (no names, no INSZ)."),
    actor: str = typer.Option("dpo", help="Who answers."),
    config: Path | None = CONFIG,
) -> None:
    """Art. 7: answer a report DOV sent us; the answer goes to DOV at once."""
    from leerid.sp.kit.dov_reports import answer_report

    _with_rp(config, lambda p, rp: answer_report(p, rp, code, status, text, actor))
    out.print(f"answer to {code.strip().upper()} sent to DOV")


@notices_app.command("send")
def notices_send(
    kind: str = typer.Option(..., help="wetgeving (a change in law) or verwerkers."),
    text: str = typer.Option(..., help="What changed, and from when."),
    actor: str = typer.Option("dpo", help="Who sends it."),
    config: Path | None = CONFIG,
) -> None:
    """Art. 9: tell DOV at once (HTTP and e-mail to its DPO); verwerkers sends our processors."""
    from leerid.sp.kit.notices import send_notice

    done = _with_rp(config, lambda p, rp: send_notice(p, rp, kind, text, actor))
    out.print(
        f"notice {done.notice_id} sent to DOV (its id {done.remote_id}) and e-mailed to its DPO"
        + (f"; it answers {done.answered_requests} request(s)" if done.answered_requests else "")
    )


@notices_app.command("resend")
def notices_resend(
    notice_id: int = typer.Argument(..., help="Our number of the notice."),
    config: Path | None = CONFIG,
) -> None:
    """Deliver a kept notice that did not reach DOV or its DPO."""
    from leerid.sp.kit.notices import deliver

    done = _with_rp(config, lambda p, rp: deliver(p, rp, notice_id))
    out.print(f"notice {done.notice_id} delivered (DOV's id {done.remote_id})")


@notices_app.command("list")
def notices_list(config: Path | None = CONFIG) -> None:
    """Our notices with DOV's id and acknowledgement, and DOV's requests for our list."""
    from leerid.sp.kit.notices import list_notices

    notices, requests = list_notices(_provider(config, create=True))
    table = Table("notice", "kind", "created", "DOV's id", "e-mailed", "acknowledged", "text")
    for n in notices:
        table.add_row(
            str(n.id),
            n.kind,
            _when(n.created_at),
            n.remote_id or "not sent",
            _when(n.mailed_at),
            _when(n.acknowledged_at) if n.acknowledged_at else "pending",
            n.text,
        )
    print_table(out, table)
    for r in requests:
        state = f"answered by notice {r.answered_by}" if r.answered_by else "pending"
        out.print(f"DOV asked for our processor list on {_when(r.requested_at)}: {state}")


@notices_app.command("dov-processors")
def notices_dov_processors(
    config: Path | None = CONFIG,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Art. 6: DOV's current processor list."""
    from leerid.sp.kit.notices import dov_processors

    listed = _with_rp(config, lambda _p, rp: dov_processors(rp))
    if as_json:
        out.print(json.dumps(listed, ensure_ascii=False, indent=2))
        return
    table = Table("processor", "purpose", "location", "since")
    for p in listed:
        table.add_row(p["name"], p["purpose"], p["location"], p["since"])
    print_table(out, table)
