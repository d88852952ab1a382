"""Helpers for the registry tests: INSZ numbers for a birth date, and tiny DISCIMUS folders."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from leerid.registry.discimus import ENROLMENT_COLUMNS, ENROLMENT_FILE, PUPIL_COLUMNS, PUPIL_FILE
from leerid.registry.insz import insz_check_digits


def national_number(born: dt.date, serial: int = 1, *, bis: bool = False) -> str:
    """A valid national register number (or BIS number) for this birth date."""
    month = born.month + (40 if bis else 0)
    nine = f"{born.year % 100:02d}{month:02d}{born.day:02d}{serial:03d}"
    return nine + insz_check_digits(nine, born.year >= 2000)


def write_folder(
    folder: Path,
    pupils: Iterable[Sequence[str]],
    enrolments: Iterable[Sequence[str]] = (),
    *,
    pupil_header: Sequence[str] = PUPIL_COLUMNS,
    enrolment_header: Sequence[str] = ENROLMENT_COLUMNS,
) -> Path:
    """Write leerlingen.csv and inschrijvingen.csv in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, header, rows in (
        (PUPIL_FILE, pupil_header, pupils),
        (ENROLMENT_FILE, enrolment_header, enrolments),
    ):
        with open(folder / name, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
    return folder


def read_rejects(path: Path) -> list[dict[str, str]]:
    """The rows of a rejects CSV."""
    with open(path, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Everything identity-related the registry holds, to compare before and after."""
    queries = {
        "pupil": "SELECT leer_id_uuid, insz, naam, voornaam, geboortedatum FROM pupil",
        "registration": "SELECT r.referte, p.leer_id_uuid, r.insz, r.digest "
        "FROM registration r JOIN pupil p ON p.id = r.pupil_id",
        "account": "SELECT account_uuid, status, referte FROM account",
        "enrolment": "SELECT referte, instellingsnummer, administratieve_groep, "
        "begindatum, einddatum FROM enrolment",
        "credential": "SELECT account_uuid, username FROM credential",
        "insz_history": "SELECT insz FROM insz_history",
    }
    with engine.connect() as conn:
        return {
            name: sorted((tuple(map(str, row)) for row in conn.execute(text(sql))), key=str)
            for name, sql in queries.items()
        }
