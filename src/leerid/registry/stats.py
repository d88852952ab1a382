"""Counts over the registry (``leerid registry stats``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leerid.registry.lookup import active_on
from leerid.registry.models import Account, Enrolment, Pupil, Registration

__all__ = ["RegistryStats", "registry_stats"]


@dataclass(frozen=True)
class RegistryStats:
    """How many pupils, accounts and enrolments the registry holds on a day."""

    pupils: int
    identified: int
    unidentified: int
    registrations: int
    accounts: dict[str, int]
    enrolments_active: int
    schools: int
    """Schools (instellingsnummers) with at least one active enrolment."""
    on: dt.date


def registry_stats(session: Session, on: dt.date) -> RegistryStats:
    """The registry's counts; enrolments and schools are those active on ``on``."""
    pupils = session.scalar(select(func.count()).select_from(Pupil)) or 0
    identified = session.scalar(select(func.count()).where(Pupil.leer_id_uuid.is_not(None))) or 0
    registrations = session.scalar(select(func.count()).select_from(Registration)) or 0
    accounts = {
        str(status): int(n)
        for status, n in session.execute(
            select(Account.status, func.count()).group_by(Account.status)
        )
    }
    active = session.execute(
        select(func.count(), func.count(Enrolment.instellingsnummer.distinct())).where(
            *active_on(on)
        )
    ).one()
    return RegistryStats(
        pupils=pupils,
        identified=identified,
        unidentified=pupils - identified,
        registrations=registrations,
        accounts={s: accounts.get(s, 0) for s in ("permanent", "temporary", "retired")},
        enrolments_active=int(active[0]),
        schools=int(active[1]),
        on=on,
    )
