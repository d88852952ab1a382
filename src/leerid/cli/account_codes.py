"""``leerid accounts issue`` and ``leerid accounts reset``: credentials for the school.

Issue 4 §4. The CSV written here is the only place activation codes appear in clear: it is
created new (never over an existing file), readable by its owner only, and written in full
before the database commits, so that no code is stored without the school receiving it.
Nothing personal is printed: only counts and the file name.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session, sessionmaker

from leerid.csv_safe import SafeWriter
from leerid.errors import LeeridError
from leerid.idp.login.activation_codes import IssuedCredential, issue_for_school, reset_code
from leerid.schema import get_engine

__all__ = ["issue", "reset"]

COLUMNS = (
    "account_uuid",
    "administratieve_groep",
    "naam",
    "voornaam",
    "gebruikersnaam",
    "activatiecode",
    "geldig_tot",
)


def _check_school(school: str) -> str:
    if len(school) != 6 or not school.isdigit():
        raise LeeridError(
            f"--school {school!r}: an instellingsnummer is 6 digits (keep leading zeros), "
            "for example --school 012345"
        )
    return school


def _temporary(out: Path) -> Path:
    if out.exists():
        raise LeeridError(
            f"--out {out}: the file exists; codes are never written over a file. "
            "Choose a new file name."
        )
    if not out.parent.is_dir():
        raise LeeridError(f"--out {out}: the folder {out.parent} does not exist")
    return out.with_name(f".{out.name}.partial")


def _write_csv(path: Path, rows: Sequence[IssuedCredential]) -> None:
    """The school's list, owner-only (0600), UTF-8 with BOM so spreadsheet programs read it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as handle:
        writer = SafeWriter(handle)  # names come from the schools' software
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow(
                (
                    row.account_uuid,
                    row.administratieve_groep,
                    row.naam,
                    row.voornaam,
                    row.username,
                    row.code,
                    row.valid_until.date().isoformat(),
                )
            )


def _run(out: Path, produce: Callable[[Session], list[IssuedCredential]]) -> int:
    """Produce the rows in one transaction; write the CSV, commit, then give it its name."""
    partial = _temporary(out)
    factory = sessionmaker(bind=get_engine(create=False), expire_on_commit=False)
    with factory() as session:
        try:
            rows = produce(session)
            _write_csv(partial, rows)
            session.commit()
        except BaseException:
            session.rollback()
            partial.unlink(missing_ok=True)
            raise
    partial.rename(out)
    return len(rows)


def issue(
    school: Annotated[str, typer.Option("--school", help="Instellingsnummer (6 digits).")],
    out: Annotated[Path, typer.Option("--out", help="New CSV file for the school.")],
) -> None:
    """Give every pupil enrolled today at SCHOOL without credentials a username and a code."""
    school = _check_school(school)
    now = dt.datetime.now(dt.UTC)

    def produce(session: Session) -> list[IssuedCredential]:
        rows = issue_for_school(session, school, now.date(), now)
        if not rows:
            raise LeeridError(
                f"--school {school}: no pupil is enrolled at this school today without a "
                "username; check the instellingsnummer (or use `leerid accounts reset` for a "
                f"pupil who needs a new code). No file was written to {out}."
            )
        return rows

    count = _run(out, produce)
    typer.echo(
        f"{count} pupil(s) of school {school} received a username and an activation code "
        f"(valid 30 days), written to {out}. Give each pupil their line; keep the file safe "
        "and delete it once handed out."
    )


def reset(
    account_uuid: Annotated[str, typer.Option("--account-uuid", help="The pupil's account.")],
    out: Annotated[Path, typer.Option("--out", help="New CSV file with the new code.")],
    revoke_password: Annotated[
        bool,
        typer.Option(
            "--revoke-password",
            help="Also stop the current password at once (a password that leaked).",
        ),
    ] = False,
) -> None:
    """Issue a new activation code for ACCOUNT_UUID; the previous code no longer works."""
    now = dt.datetime.now(dt.UTC)
    _run(out, lambda s: [reset_code(s, account_uuid, now, revoke_password=revoke_password)])
    typer.echo(
        f"A new activation code (valid 30 days) was written to {out}; the previous code no "
        "longer works." + (" The current password was revoked." if revoke_password else "")
    )
