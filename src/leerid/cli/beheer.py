"""``leerid beheer``: DOV's console accounts and their privacy log (art. 6, issue 13).

``staff add|list|disable|dates`` keep the accounts of ``/beheer`` (roles ``operator`` and
``dpo``, Argon2id); every change is an entry of the staff privacy log. ``log show`` lists
that log (filters, paging) and ``log verify`` recomputes its hash chain (exit 1 when it
does not hold).
"""

from __future__ import annotations

import datetime as dt
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from leerid import config
from leerid.cli.tables import print_table
from leerid.errors import LeeridError
from leerid.protocol.lifecycle import BRUSSELS
from leerid.schema import get_engine

app = typer.Typer(
    help="DOV's console (/beheer): staff accounts and their privacy log.", no_args_is_help=True
)
staff_app = typer.Typer(help="Console accounts: operator or dpo (art. 6).", no_args_is_help=True)
log_app = typer.Typer(help="The staff privacy log (art. 6).", no_args_is_help=True)
app.add_typer(staff_app, name="staff")
app.add_typer(log_app, name="log")
out = Console(highlight=False, soft_wrap=True, markup=False)

BY = typer.Option("beheer-cli", "--by", help="Who makes the change (for the privacy log).")
CONFIDENTIALITY = typer.Option(
    "", "--confidentiality", help="Art. 6: day the confidentiality pledge was signed (YYYY-MM-DD)."
)
TRAINING = typer.Option("", "--training", help="Art. 6: day of the awareness training.")


def _day(text: str, option: str) -> dt.date | None:
    from leerid.sp.kit.staff_evidence import parse_day

    return parse_day(text, option)


def _password(username: str, from_stdin: bool) -> str:
    from leerid.idp.login.password_policy import check_new_password

    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    problems = check_new_password(password, password, username)
    if problems:
        reasons = ", ".join(str(p.problem).replace("_", " ") for p in problems)
        raise LeeridError(f"password refused ({reasons}): choose 12 characters or more, not common")
    return password


@staff_app.command("add")
def staff_add(
    username: str = typer.Argument(...),
    role: Annotated[str, typer.Option(help="operator | dpo")] = "operator",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    confidentiality: str = CONFIDENTIALITY,
    training: str = TRAINING,
    actor: str = BY,
) -> None:
    """Create a console account (Argon2id); the password is prompted or read from stdin."""
    from leerid.idp.login.passwords import PasswordHasher
    from leerid.idp.store.console.staff import add_staff, set_dates

    signed, trained = _day(confidentiality, "--confidentiality"), _day(training, "--training")
    if role not in ("operator", "dpo"):
        raise LeeridError(f"--role {role!r}: give operator or dpo")
    engine = get_engine(config.database_url())
    password = _password(username, password_stdin)
    hasher = PasswordHasher.from_env()
    try:
        account = add_staff(engine, username, hasher.hash_sync(password), role, actor=actor)
    finally:
        hasher.close()
    if signed or trained:
        set_dates(engine, account.username, confidentiality=signed, training=trained, actor=actor)
    out.print(f"console account {account.username} ({role}) created")


def _date(value: dt.date | None) -> str:
    return value.isoformat() if value else "—"


@staff_app.command("list")
def staff_list() -> None:
    """Console accounts: role, active, the art. 6 dates and what is missing."""
    from leerid.idp.store.console.staff import list_staff, missing_dates

    table = Table("username", "role", "active", "confidentiality", "awareness", "pupil data")
    for s in list_staff(get_engine(config.database_url(), create=False)):
        missing = missing_dates(s)
        sees = "yes" if not missing else "no: art. 6 dates"  # art. 6: every role
        table.add_row(
            s.username,
            s.role,
            "yes" if s.active else "no",
            _date(s.confidentiality_signed_on),
            _date(s.awareness_trained_on),
            sees,
        )
    print_table(out, table)


@staff_app.command("disable")
def staff_disable(username: str = typer.Argument(...), actor: str = BY) -> None:
    """Disable a console account (it can no longer log in; open sessions end at once)."""
    from leerid.idp.store.console.staff import disable_staff

    disable_staff(get_engine(config.database_url(), create=False), username, actor=actor)
    out.print(f"console account {username} disabled")


@staff_app.command("enable")
def staff_enable(username: str = typer.Argument(...), actor: str = BY) -> None:
    """Enable a disabled console account again (logged)."""
    from leerid.idp.store.console.staff import enable_staff

    enable_staff(get_engine(config.database_url(), create=False), username, actor=actor)
    out.print(f"console account {username} enabled")


@staff_app.command("role")
def staff_role(
    username: str = typer.Argument(...),
    role: str = typer.Option(..., help="operator | dpo"),
    actor: str = BY,
) -> None:
    """Change a console account's role (counts at its next request; logged)."""
    from leerid.idp.store.console.staff import set_role

    set_role(get_engine(config.database_url(), create=False), username, role, actor=actor)
    out.print(f"console account {username} now has role {role}")


@staff_app.command("password")
def staff_password(
    username: str = typer.Argument(...),
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    actor: str = BY,
) -> None:
    """Set a new password (policy checked; Argon2id); the account's open console sessions
    end at once (logged, without the password)."""
    from leerid.idp.login.passwords import PasswordHasher
    from leerid.idp.store.console.staff import normalise_username, set_password

    engine = get_engine(config.database_url(), create=False)
    password = _password(normalise_username(username), password_stdin)
    hasher = PasswordHasher.from_env()
    try:
        set_password(engine, username, hasher.hash_sync(password), actor=actor)
    finally:
        hasher.close()
    out.print(f"console account {username}: new password set; its open sessions have ended")


@staff_app.command("dates")
def staff_dates(
    username: str = typer.Argument(...),
    confidentiality: str = CONFIDENTIALITY,
    training: str = TRAINING,
    actor: str = BY,
) -> None:
    """Art. 6: record the confidentiality pledge's and the awareness training's days."""
    from leerid.idp.store.console.staff import set_dates

    account = set_dates(
        get_engine(config.database_url(), create=False),
        username,
        confidentiality=_day(confidentiality, "--confidentiality"),
        training=_day(training, "--training"),
        actor=actor,
    )
    signed, trained = account.confidentiality_signed_on, account.awareness_trained_on
    out.print(
        f"console account {account.username}: confidentiality {_date(signed)}, "
        f"awareness {_date(trained)}"
    )


def _start(day: str, option: str, *, after: bool = False) -> dt.datetime | None:
    """The first moment (Brussels) of ``day``; ``after``: of the day after (an inclusive end)."""
    if not day:
        return None
    try:
        date = dt.date.fromisoformat(day) + dt.timedelta(days=1 if after else 0)
    except (ValueError, OverflowError):
        raise LeeridError(f"{option} {day!r}: write a date as YYYY-MM-DD") from None
    return dt.datetime.combine(date, dt.time(), tzinfo=BRUSSELS)


@log_app.command("show")
def log_show(
    actor: Annotated[str, typer.Option(help="Only this staff member's entries.")] = "",
    action: Annotated[str, typer.Option(help="Only this action (e.g. pupil_search).")] = "",
    pupil_key: Annotated[str, typer.Option(help="Only entries about this pupil key.")] = "",
    since: Annotated[str, typer.Option(help="From this day on (YYYY-MM-DD, Brussels).")] = "",
    until: Annotated[
        str, typer.Option(help="Up to and with this day (YYYY-MM-DD, Brussels).")
    ] = "",
    page: Annotated[int, typer.Option(min=1, help="Page (newest first).")] = 1,
    per_page: Annotated[int, typer.Option(min=1, max=1000, help="Entries a page.")] = 50,
) -> None:
    """The staff privacy log, newest first, with filters and pages."""
    from leerid.idp.store.console.staff_log import LogFilter, entries

    where = LogFilter(
        actor, action, pupil_key, _start(since, "--since"), _start(until, "--until", after=True)
    )
    shown = entries(
        get_engine(config.database_url(), create=False), where, page=page, per_page=per_page
    )
    table = Table("seq", "at (Brussels)", "actor", "action", "pupil key", "purpose", "detail")
    for e in shown.entries:
        detail = ", ".join(f"{k}={v}" for k, v in sorted(e.detail.items()))
        when = e.at.astimezone(BRUSSELS).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(str(e.seq), when, e.actor, e.action, e.pupil_key or "—", e.purpose, detail)
    print_table(out, table)
    out.print(f"page {shown.page} of {shown.pages} ({shown.total} entries)")


@log_app.command("verify")
def log_verify() -> None:
    """Recompute the log's hash chain; exit 1 and name each entry that does not fit."""
    from leerid.idp.store.console.staff_log import verify

    result = verify(get_engine(config.database_url(), create=False))
    for problem in result.problems:
        out.print(f"PROBLEM: {problem}")
    if not result.ok:
        raise typer.Exit(1)
    out.print(f"the staff privacy log holds: {result.entries} entries, head {result.head_hash}")
