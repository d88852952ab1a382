"""Pupils seeded through the real DISCIMUS importer (leerid.testing), for the provider's tests."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import random
import uuid
from typing import Literal

from sqlalchemy import Engine

from leerid.errors import LeeridError
from leerid.registry.insz import insz_check_digits
from leerid.testing.discimus import Enrolled, RegistryPupil, import_pupils

TODAY = dt.date.today()

AccountStatus = Literal["permanent", "temporary", "retired"]

# One serial per call, from a random start: the INSZs of a test process are unique (three
# month codes: national register, BIS +20 and +40; 997 serials each, per birth date).
_CALLS = itertools.count(random.randrange(3 * 997))


def valid_insz(born: dt.date) -> str:
    """A fresh valid INSZ (national register or BIS number) that encodes ``born``."""
    call = next(_CALLS) % (3 * 997)
    month = born.month + 20 * (call // 997)
    nine = f"{born.year % 100:02d}{month:02d}{born.day:02d}{call % 997 + 1:03d}"
    return nine + insz_check_digits(nine, born.year >= 2000)


def _account(engine: Engine, pupil: RegistryPupil, status: str) -> str:
    """Import ``pupil`` for real; the account_uuid of its account with ``status``."""
    (view,) = import_pupils(engine, [pupil])
    found = [account for account, has in view.accounts if has == status]
    if len(found) != 1:
        raise LeeridError(f"referte {pupil.referte}: accounts {view.accounts}, not one {status}")
    return found[0]


def add_pupil(
    engine: Engine,
    voornaam: str,
    naam: str,
    school: str = "012345",
    *,
    begindatum: dt.date | None = None,
    einddatum: dt.date | None = None,
    account_status: AccountStatus = "permanent",
    groep: str = "000101",
    insz: str | None = None,
    geboortedatum: dt.date = dt.date(2014, 5, 17),
) -> str:
    """A pupil with one registration and one enrolment at ``school``: its account's uuid.

    ``permanent``: identified by ``insz``, or by a fresh valid one; ``temporary``: imported
    without INSZ. ``retired``: imported without INSZ, then identified by a second import,
    which retires the temporary account (returned) and gives the pupil a new permanent one
    (docs/identities.md, rule 4): the registry has no retired account without a live one.
    """
    if insz is not None and account_status == "temporary":
        raise ValueError("a temporary account is a pupil imported without INSZ")
    enrolled = Enrolled(school, begindatum or TODAY - dt.timedelta(days=60), groep, einddatum)
    pupil = RegistryPupil(
        referte=uuid.uuid4().hex[:20],
        naam=naam,
        voornaam=voornaam,
        geboortedatum=geboortedatum,
        insz=None if account_status != "permanent" else insz or valid_insz(geboortedatum),
        enrolments=(enrolled,),
    )
    if account_status != "retired":
        return _account(engine, pupil, account_status)
    temporary = _account(engine, pupil, "temporary")
    identified = dataclasses.replace(pupil, insz=insz or valid_insz(geboortedatum))
    (view,) = import_pupils(engine, [identified])
    if (temporary, "retired") not in view.accounts:
        raise LeeridError(f"referte {pupil.referte}: accounts {view.accounts}, {temporary} live")
    return temporary
