"""``leerid registry``: generate and import DISCIMUS files, show pupils, merge two pupils."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from leerid.errors import LeeridError, NotFoundError
from leerid.registry.importer import ImportSummary, import_registry
from leerid.registry.lookup import PupilView, find_pupil
from leerid.registry.merge import merge_pupils
from leerid.registry.stats import registry_stats
from leerid.schema import get_engine
from leerid.store.engine import session_scope

app = typer.Typer(
    help="The registry: DISCIMUS registrations turned into LeerID identities.",
    no_args_is_help=True,
)


def parse_day(value: str | None, option: str = "--on") -> dt.date:
    """A date given on the command line (``YYYY-MM-DD``), today when not given."""
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise LeeridError(f"{option} {value!r} is not a date; write YYYY-MM-DD") from None


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the two CSV files in.")],
    pupils: int = typer.Option(..., "--pupils", help="How many pupils."),
    schools: int | None = typer.Option(None, "--schools", help="How many schools."),
    seed: int = typer.Option(0, "--seed", help="The same seed gives the same files."),
    unidentified_share: float = typer.Option(
        0.02, "--unidentified-share", help="Share of pupils without INSZ (0 to 1)."
    ),
) -> None:
    """Write synthetic leerlingen.csv and inschrijvingen.csv (Flemish names, valid INSZ)."""
    from leerid.registry.generate import generate_registry  # Faker loads slowly

    try:
        result = generate_registry(out, pupils, schools, seed, unidentified_share)
    except ValueError as exc:
        raise LeeridError(f"cannot generate: {exc}") from None
    except OSError as exc:
        raise LeeridError(f"cannot write to {out}: {exc.strerror}") from None
    typer.echo(
        f"wrote {result.pupils} pupils ({result.unidentified} without INSZ), "
        f"{result.enrolments} enrolments in {result.schools} schools to {result.directory}"
    )


def summary_lines(summary: ImportSummary) -> list[str]:
    """The import summary as a person reads it."""
    return [
        f"registrations created:   {summary.registrations_created}",
        f"registrations updated:   {summary.registrations_updated}",
        f"registrations unchanged: {summary.registrations_unchanged}",
        f"pupils identified:       {summary.pupils_identified}",
        f"accounts created:        {summary.accounts_created}",
        f"accounts retired:        {summary.accounts_retired}",
        f"rejected rows:           {summary.rejects} (see {summary.rejects_path})",
    ]


@app.command("import")
def import_(
    directory: Annotated[
        Path, typer.Argument(help="Folder with leerlingen.csv and inschrijvingen.csv.")
    ],
    rejects: Annotated[
        Path | None,
        typer.Option("--rejects", help="Where to write rejected rows (default DIR/rejects.csv)."),
    ] = None,
) -> None:
    """Import DISCIMUS files: one transaction; rejected rows go to the rejects file."""
    engine = get_engine()
    if sys.stderr.isatty():
        console = Console(stderr=True)
        with Progress(
            TextColumn("{task.description:<20}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            tasks: dict[str, TaskID] = {}

            def progress(step: str, done: int, total: int) -> None:
                if total <= 0:  # an empty step is a finished one
                    done = total = 1
                if step not in tasks:
                    tasks[step] = bar.add_task(step, total=total)
                bar.update(tasks[step], completed=done, total=total)

            summary = import_registry(engine, directory, rejects, progress)
    else:
        summary = import_registry(engine, directory, rejects)
    typer.echo("\n".join(summary_lines(summary)))


def view_json(view: PupilView) -> dict[str, object]:
    """Issue 2 §6: exactly these keys."""
    return {
        "leer_id_uuid": view.leer_id_uuid,
        "insz": view.insz,
        "naam": view.naam,
        "voornaam": view.voornaam,
        "referten": list(view.referten),
        "accounts": [{"account_uuid": a, "status": s} for a, s in view.accounts],
        "historiek_account_uuid": list(view.historiek_account_uuid),
        "instellingsnummers": list(view.instellingsnummers),
        "insz_history": list(view.insz_history),
    }


@app.command()
def show(
    insz: str | None = typer.Option(None, "--insz", help="National register or BIS number."),
    leerid_uuid: str | None = typer.Option(None, "--leerid-uuid", help="Leer_id_uuid."),
    account_uuid: str | None = typer.Option(None, "--account-uuid", help="Account_uuid."),
    referte: str | None = typer.Option(None, "--referte", help="DISCIMUS referte."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object."),
    on: str | None = typer.Option(None, "--on", help="Enrolments active on (default today)."),
) -> None:
    """Show one pupil: identifiers, accounts, history and schools enrolled on a day."""
    keys = {
        "--insz": insz,
        "--leerid-uuid": leerid_uuid,
        "--account-uuid": account_uuid,
        "--referte": referte,
    }
    given = [k for k, v in keys.items() if v is not None]
    if len(given) != 1:
        raise LeeridError(
            "give exactly one of --insz, --leerid-uuid, --account-uuid, --referte"
            + (f" (got {', '.join(given)})" if given else "")
        )
    day = parse_day(on)
    with session_scope(get_engine(create=False)) as session:
        view = find_pupil(
            session,
            on=day,
            insz=insz,
            leer_id_uuid=leerid_uuid,
            account_uuid=account_uuid,
            referte=referte,
        )
    if view is None:
        raise NotFoundError(f"no pupil found for {given[0]}; check the value and try again")
    if as_json:
        typer.echo(json.dumps(view_json(view), ensure_ascii=False))
        return
    accounts = ", ".join(f"{a} ({s})" for a, s in view.accounts) or "none"
    typer.echo(
        "\n".join(
            [
                f"naam, voornaam:         {view.naam}, {view.voornaam}",
                f"geboortedatum:          {view.geboortedatum.isoformat()}",
                f"leer_id_uuid:           {view.leer_id_uuid or '(not identified)'}",
                f"insz:                   {view.insz or '(none)'}",
                f"referten:               {', '.join(view.referten)}",
                f"accounts:               {accounts}",
                f"historiek_account_uuid: {', '.join(view.historiek_account_uuid) or 'none'}",
                f"instellingsnummers:     {', '.join(view.instellingsnummers) or 'none'}"
                f" (active on {day.isoformat()})",
                f"insz history:           {', '.join(view.insz_history) or 'none'}",
            ]
        )
    )


@app.command()
def stats(
    on: str | None = typer.Option(None, "--on", help="Enrolments active on (default today)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object."),
) -> None:
    """Counts: pupils (identified or not), accounts, active enrolments, schools."""
    with session_scope(get_engine(create=False)) as session:
        result = registry_stats(session, parse_day(on))
    if as_json:
        data = dataclasses.asdict(result)
        data["on"] = result.on.isoformat()
        typer.echo(json.dumps(data))
        return
    typer.echo(
        "\n".join(
            [
                f"pupils:               {result.pupils}",
                f"  identified:         {result.identified}",
                f"  unidentified:       {result.unidentified}",
                f"registrations:        {result.registrations}",
                "accounts:             "
                + ", ".join(f"{n} {s}" for s, n in result.accounts.items()),
                f"enrolments active:    {result.enrolments_active} (on {result.on})",
                f"schools:              {result.schools}",
            ]
        )
    )


@app.command()
def merge(
    keep: str = typer.Option(..., "--keep", help="Leer_id_uuid of the pupil that stays."),
    absorb: str = typer.Option(..., "--absorb", help="Leer_id_uuid of the pupil merged in."),
    operator: str = typer.Option(..., "--operator", help="Who decides the merge."),
    reason: str = typer.Option(..., "--reason", help="Why (e.g. the helpdesk ticket)."),
) -> None:
    """Merge two identified pupils into one, with an audit record (a manual act)."""
    with session_scope(get_engine(create=False)) as session:
        record = merge_pupils(session, keep=keep, absorb=absorb, operator=operator, reason=reason)
        typer.echo(
            f"merged {record.absorbed_leer_id_uuid} into {record.kept_leer_id_uuid} "
            f"(audit record {record.id}, {record.merged_at.isoformat()})"
        )
