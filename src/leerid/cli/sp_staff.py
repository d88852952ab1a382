"""``leerid sp staff``: staff accounts with a function profile and schools (art. 4) and the
confidentiality and training dates (art. 6); every change is in the privacy log."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from leerid.cli.sp import CONFIG, _provider
from leerid.cli.tables import print_table
from leerid.errors import LeeridError

staff_app = typer.Typer(
    help="Staff accounts: function profile, schools, art. 6 dates (art. 4, 6).",
    no_args_is_help=True,
)
out = Console(highlight=False, soft_wrap=True)


CONFIDENTIALITY = typer.Option(
    "",
    "--confidentiality",
    "--confidentiality-signed",
    help="Art. 6: day the confidentiality pledge was signed (YYYY-MM-DD).",
)
TRAINING = typer.Option(
    "", "--training", "--awareness-trained", help="Art. 6: day of the awareness training."
)
PROFILE = typer.Option("", "--profile", help="A function profile ([profiles.ID], art. 4).")
ROLE = typer.Option("", help="A recipient role of the protocol, without a profile.")
BY = typer.Option("dpo", "--by", help="Who records it (for the privacy log).")
SCHOOLS = typer.Option(
    [], "--school", help="An instellingsnummer whose pupils this person sees (repeatable)."
)


def _change(  # type: ignore[no-untyped-def]
    provider, profile: str, role: str, schools: list[str], confidentiality: str, training: str
):
    from leerid.sp.kit.staff_admin import StaffChange, check_schools, resolve_function
    from leerid.sp.kit.staff_evidence import parse_day

    return StaffChange(
        function=resolve_function(provider, profile, role) if profile or role else None,
        schools=check_schools(provider, schools) if schools else None,
        confidentiality_signed_on=parse_day(confidentiality, "--confidentiality"),
        awareness_trained_on=parse_day(training, "--training"),
    )


@staff_app.command("add")
def staff_add(
    username: str = typer.Argument(...),
    config: Path | None = CONFIG,
    profile: str = PROFILE,
    role: str = ROLE,
    school: list[str] = SCHOOLS,
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input."
    ),
    confidentiality: str = CONFIDENTIALITY,
    training: str = TRAINING,
    actor: str = BY,
) -> None:
    """Create a staff account (Argon2id) with a function profile and schools (art. 4)."""
    from leerid.sp.kit.staff_admin import create_staff

    provider = _provider(config, create=True)
    change = _change(provider, profile, role, school, confidentiality, training)
    if change.function is None:
        raise LeeridError("give --profile (a function profile) or --role (a protocol role)")
    password = (
        sys.stdin.readline().rstrip("\n")
        if password_stdin
        else typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    )
    create_staff(provider, actor, username, password, change)
    out.print(f"staff account {username} ({profile or change.function.role}) created")


@staff_app.command("update")
def staff_update(
    username: str = typer.Argument(...),
    config: Path | None = CONFIG,
    profile: str = PROFILE,
    role: str = ROLE,
    school: list[str] = SCHOOLS,
    confidentiality: str = CONFIDENTIALITY,
    training: str = TRAINING,
    actor: str = BY,
) -> None:
    """Change an account's profile, schools (replaced as a whole) or art. 6 dates."""
    from leerid.sp.kit.staff_admin import update_staff

    provider = _provider(config)
    change = _change(provider, profile, role, school, confidentiality, training)
    update_staff(provider, actor, username, change)
    out.print(f"staff account {username} updated")


@staff_app.command("list")
def staff_list(config: Path | None = CONFIG) -> None:
    """Staff accounts: function, schools, what they may see, the art. 6 dates."""
    from leerid.sp.kit.staff import list_staff, school_scope

    provider = _provider(config)
    table = Table(
        "username",
        "role",
        "profile",
        "schools",
        "active",
        "pupil data",
        "privacy log",
        "confidentiality",
        "awareness",
    )
    for s in list_staff(provider.engine):
        perms = provider.permissions(s.role)
        table.add_row(
            s.username,
            s.role,
            s.function_profile or "—",
            ", ".join(sorted(school_scope(s))) or "—",
            "yes" if s.active else "no",
            "yes" if perms.sees_pupil_data else "no",
            "yes" if perms.sees_privacy_log else "no",
            str(s.confidentiality_signed_on or "—"),
            str(s.awareness_trained_on or "—"),
        )
    print_table(out, table)


@staff_app.command("disable")
def staff_disable(
    username: str = typer.Argument(...),
    config: Path | None = CONFIG,
    actor: str = BY,
) -> None:
    """Disable a staff account (it can no longer log in); logged."""
    from leerid.sp.kit.staff_admin import disable

    disable(_provider(config), actor, username)
    out.print(f"staff account {username} disabled")


@staff_app.command("password")
def staff_password(
    username: str = typer.Argument(...),
    config: Path | None = CONFIG,
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the new password from standard input."
    ),
    actor: str = BY,
) -> None:
    """Give an account a new password (its owner forgot it); logged, without the password."""
    from leerid.sp.kit.staff_admin import reset_password

    password = (
        sys.stdin.readline().rstrip("\n")
        if password_stdin
        else typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    )
    reset_password(_provider(config), actor, username, password)
    out.print(f"staff account {username}: new password set")
