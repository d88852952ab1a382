"""Pupils for the retention tests, imported through the real importer, and what they hold."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from leerid.protocol import IsoDuration
from leerid.registry.changes import ChangeKind, DovChange
from leerid.registry.models import Account, Pupil
from leerid.registry.retention.rule import brussels_day, cutoff_day
from leerid.testing.discimus import Enrolled, RegistryPupil, import_pupils
from tests.registry.conftest import national_number

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
TODAY = brussels_day(NOW)
CUTOFF = cutoff_day(IsoDuration(years=3), TODAY)
"""An enrolment that ended before this day is more than three years ago (art. 3)."""
DAY = dt.timedelta(days=1)
SCHOOL = "012345"

_serial = iter(range(1, 999))


@dataclass(frozen=True)
class Imported:
    referte: str
    pupil_id: int
    leer_id_uuid: str | None
    accounts: tuple[str, ...]


def pupil(
    engine: Engine,
    *ends: dt.date | None,
    identified: bool = True,
    referte: str | None = None,
) -> Imported:
    """Import one pupil with enrolments ending on ``ends`` (None: open; none: never enrolled)."""
    referte = referte or f"R-{uuid.uuid4().hex[:12]}"
    insz = national_number(dt.date(2008, 5, 17), next(_serial)) if identified else None
    enrolments = tuple(
        Enrolled(SCHOOL, (end or TODAY) - dt.timedelta(days=300), einddatum=end) for end in ends
    )
    (view,) = import_pupils(
        engine,
        [RegistryPupil(referte, "Peeters", "Jan", dt.date(2008, 5, 17), insz, enrolments)],
    )
    return _imported(engine, referte, view.leer_id_uuid)


def reimport(engine: Engine, referte: str, *ends: dt.date | None, insz: str | None) -> None:
    """Send the registration again with these enrolments (the import is its truth)."""
    enrolments = tuple(
        Enrolled(SCHOOL, (end or TODAY) - dt.timedelta(days=300), einddatum=end) for end in ends
    )
    import_pupils(
        engine,
        [RegistryPupil(referte, "Peeters", "Jan", dt.date(2008, 5, 17), insz, enrolments)],
    )


def _imported(engine: Engine, referte: str, leer_id_uuid: str | None) -> Imported:
    with engine.connect() as conn:
        pupil_id = conn.scalar(
            text("SELECT pupil_id FROM registration WHERE referte = :r"), {"r": referte}
        )
    return Imported(referte, int(pupil_id), leer_id_uuid, tuple(accounts_of(engine, int(pupil_id))))


def accounts_of(engine: Engine, pupil_id: int) -> list[str]:
    with Session(engine) as session:
        return sorted(
            session.scalars(select(Account.account_uuid).where(Account.pupil_id == pupil_id))
        )


def retired_ids(engine: Engine) -> set[int]:
    with Session(engine) as session:
        return set(session.scalars(select(Pupil.id).where(Pupil.retired_at.is_not(None))))


def purged_changes(engine: Engine) -> list[tuple[str | None, list[str], dict[str, object]]]:
    """The ACCOUNT_PURGED changes: (leer_id_uuid, account uuids, payload)."""
    with Session(engine) as session:
        rows = session.scalars(
            select(DovChange).where(DovChange.kind == ChangeKind.ACCOUNT_PURGED.value)
        ).all()
        return [(r.leer_id_uuid, json.loads(r.account_uuids), json.loads(r.payload)) for r in rows]
