"""Hand-made DISCIMUS files: chosen pupils and enrolments, written and imported for real."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from leerid.csv_safe import SafeWriter
from leerid.errors import LeeridError
from leerid.registry.discimus import ENROLMENT_COLUMNS, ENROLMENT_FILE, PUPIL_COLUMNS, PUPIL_FILE
from leerid.registry.importer import import_registry
from leerid.registry.lookup import PupilView, find_pupil

__all__ = ["Enrolled", "RegistryPupil", "import_pupils", "write_discimus"]


@dataclass(frozen=True)
class Enrolled:
    """One row of ``inschrijvingen.csv``."""

    school: str
    begindatum: dt.date
    groep: str = "000001"
    einddatum: dt.date | None = None


@dataclass(frozen=True)
class RegistryPupil:
    """One row of ``leerlingen.csv`` and the pupil's enrolments (``insz`` None: unidentified)."""

    referte: str
    naam: str
    voornaam: str
    geboortedatum: dt.date
    insz: str | None
    enrolments: tuple[Enrolled, ...]


def write_discimus(folder: Path, pupils: Sequence[RegistryPupil]) -> Path:
    """``leerlingen.csv`` and ``inschrijvingen.csv`` for ``pupils`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / PUPIL_FILE).open("w", newline="", encoding="utf-8") as fh:
        out = SafeWriter(fh)
        out.writerow(PUPIL_COLUMNS)
        for p in pupils:
            out.writerow([p.referte, p.insz or "", p.naam, p.voornaam, p.geboortedatum.isoformat()])
    with (folder / ENROLMENT_FILE).open("w", newline="", encoding="utf-8") as fh:
        out = SafeWriter(fh)
        out.writerow(ENROLMENT_COLUMNS)
        for p in pupils:
            for e in p.enrolments:
                end = e.einddatum.isoformat() if e.einddatum else ""
                out.writerow([p.referte, e.school, e.groep, e.begindatum.isoformat(), end])
    return folder


def import_pupils(engine: Engine, pupils: Sequence[RegistryPupil]) -> list[PupilView]:
    """Import ``pupils`` with the real importer (other refertes are left alone); each pupil
    as the registry knows it afterwards (its ``leer_id_uuid`` and accounts)."""
    with tempfile.TemporaryDirectory(prefix="leerid-discimus-") as folder:
        summary = import_registry(engine, write_discimus(Path(folder), pupils))
        if summary.rejects:
            rejected = (Path(summary.rejects_path)).read_text(encoding="utf-8")
            raise LeeridError(f"the importer rejected {summary.rejects} rows:\n{rejected}")
    views: list[PupilView] = []
    with Session(engine) as session:
        for pupil in pupils:
            found = find_pupil(session, on=dt.date.today(), referte=pupil.referte)
            if found is None:
                raise LeeridError(f"referte {pupil.referte}: not in the registry after import")
            views.append(found)
    return views
