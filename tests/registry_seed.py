"""Pupils written straight into the registry's tables, for the tests of the provider."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from leerid.registry.models import Account, AccountStatus, Enrolment, Pupil, Registration

TODAY = dt.date.today()


def add_pupil(
    engine: Engine,
    voornaam: str,
    naam: str,
    school: str = "012345",
    *,
    begindatum: dt.date | None = None,
    einddatum: dt.date | None = None,
    account_status: str = AccountStatus.PERMANENT,
    groep: str = "000101",
    insz: str | None = None,
    leer_id_uuid: str | None = None,
    geboortedatum: dt.date = dt.date(2014, 5, 17),
) -> str:
    """A pupil with one registration, one enrolment at ``school`` and one account: its uuid."""
    referte = uuid.uuid4().hex[:20]
    account_uuid = str(uuid.uuid4())
    with Session(engine) as session, session.begin():
        pupil = Pupil(
            leer_id_uuid=leer_id_uuid or str(uuid.uuid4()),
            insz=insz,
            naam=naam,
            voornaam=voornaam,
            geboortedatum=geboortedatum,
        )
        session.add(pupil)
        session.flush()
        session.add(
            Registration(
                referte=referte,
                pupil_id=pupil.id,
                insz=insz,
                naam=naam,
                voornaam=voornaam,
                geboortedatum=geboortedatum,
                digest="0" * 32,
            )
        )
        session.flush()
        session.add(
            Enrolment(
                referte=referte,
                instellingsnummer=school,
                administratieve_groep=groep,
                begindatum=begindatum or TODAY - dt.timedelta(days=60),
                einddatum=einddatum,
            )
        )
        session.add(
            Account(
                account_uuid=account_uuid,
                pupil_id=pupil.id,
                status=account_status,
                referte=referte,
            )
        )
    return account_uuid
