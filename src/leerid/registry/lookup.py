"""Find one pupil and everything the identity provider releases about it.

Art. 5: the data is fetched at every login, so a lookup is a handful of indexed queries:
one to resolve the key to a pupil, then one each for the pupil, its registrations, its
accounts, its active enrolments and its INSZ history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from leerid.registry.models import (
    Account,
    AccountStatus,
    Enrolment,
    InszHistory,
    MergeRecord,
    Pupil,
    Registration,
)

__all__ = ["PupilView", "find_pupil", "pupil_identifiers", "pupil_view", "resolve_pupil_id"]

MAX_MERGE_HOPS = 16


@dataclass(frozen=True)
class PupilView:
    """What the registry knows of one pupil on a given day (art. 3 attributes and more)."""

    pupil_id: int
    leer_id_uuid: str | None
    insz: str | None
    naam: str
    voornaam: str
    geboortedatum: dt.date
    referten: tuple[str, ...]
    accounts: tuple[tuple[str, str], ...]  # (account_uuid, status)
    historiek_account_uuid: tuple[str, ...]  # account_uuids of retired accounts
    instellingsnummers: tuple[str, ...]  # enrolments active on `on`, sorted, distinct
    insz_history: tuple[str, ...]


def resolve_pupil_id(
    session: Session,
    *,
    insz: str | None = None,
    leer_id_uuid: str | None = None,
    account_uuid: str | None = None,
    referte: str | None = None,
) -> int | None:
    """The id of the pupil a key designates, or None; exactly one key must be given.

    An INSZ the pupil had before (its INSZ history) still finds it; a ``leer_id_uuid``
    absorbed by a manual merge finds the pupil it was merged into.
    """
    given = [k for k in (insz, leer_id_uuid, account_uuid, referte) if k is not None]
    if len(given) != 1:
        raise ValueError(
            "find_pupil needs exactly one of insz, leer_id_uuid, account_uuid, referte"
        )
    if insz is not None:
        found = session.scalar(select(Pupil.id).where(Pupil.insz == insz))
        if found is None:
            found = session.scalar(
                select(InszHistory.pupil_id).where(InszHistory.insz == insz).limit(1)
            )
        return found
    if leer_id_uuid is not None:
        current: str | None = leer_id_uuid
        for _ in range(MAX_MERGE_HOPS):
            found = session.scalar(select(Pupil.id).where(Pupil.leer_id_uuid == current))
            if found is not None:
                return found
            current = session.scalar(
                select(MergeRecord.kept_leer_id_uuid).where(
                    MergeRecord.absorbed_leer_id_uuid == current
                )
            )
            if current is None:
                return None
        return None
    if account_uuid is not None:
        return session.scalar(select(Account.pupil_id).where(Account.account_uuid == account_uuid))
    return session.scalar(select(Registration.pupil_id).where(Registration.referte == referte))


def active_on(on: dt.date) -> tuple[ColumnElement[bool], ...]:
    """Issue 2 §5: active means ``begindatum <= on`` and (no ``einddatum`` or ``>= on``)."""
    return (
        Enrolment.begindatum <= on,
        or_(Enrolment.einddatum.is_(None), Enrolment.einddatum >= on),
    )


def find_pupil(
    session: Session,
    *,
    on: dt.date,
    insz: str | None = None,
    leer_id_uuid: str | None = None,
    account_uuid: str | None = None,
    referte: str | None = None,
) -> PupilView | None:
    """The pupil a key designates as seen on day ``on``, or None when the key is unknown.

    Art. 5: runs at every login; exactly one key must be given (else ``ValueError``).
    """
    pupil_id = resolve_pupil_id(
        session, insz=insz, leer_id_uuid=leer_id_uuid, account_uuid=account_uuid, referte=referte
    )
    if pupil_id is None:
        return None
    return _view(session, pupil_id, on)


def pupil_view(session: Session, pupil_id: int, on: dt.date) -> PupilView:
    """The pupil ``pupil_id`` (an id ``resolve_pupil_id`` or a search gave) on day ``on``."""
    return _view(session, pupil_id, on)


def _view(session: Session, pupil_id: int, on: dt.date) -> PupilView:
    """The pupil ``pupil_id`` as seen on day ``on``: one query for each part."""
    pupil = session.execute(
        select(
            Pupil.leer_id_uuid, Pupil.insz, Pupil.naam, Pupil.voornaam, Pupil.geboortedatum
        ).where(Pupil.id == pupil_id)
    ).one()
    referten = tuple(
        session.scalars(
            select(Registration.referte)
            .where(Registration.pupil_id == pupil_id)
            .order_by(Registration.referte)
        )
    )
    accounts = _accounts(session, pupil_id)
    instellingsnummers = _schools_on(session, pupil_id, on)
    insz_history = tuple(
        session.scalars(
            select(InszHistory.insz)
            .where(InszHistory.pupil_id == pupil_id)
            .order_by(InszHistory.replaced_at, InszHistory.id)
        )
    )
    return PupilView(
        pupil_id=pupil_id,
        leer_id_uuid=pupil.leer_id_uuid,
        insz=pupil.insz,
        naam=pupil.naam,
        voornaam=pupil.voornaam,
        geboortedatum=pupil.geboortedatum,
        referten=referten,
        accounts=accounts,
        historiek_account_uuid=tuple(
            uuid for uuid, status in accounts if status == AccountStatus.RETIRED
        ),
        instellingsnummers=instellingsnummers,
        insz_history=insz_history,
    )


def _accounts(session: Session, pupil_id: int) -> tuple[tuple[str, str], ...]:
    """``(account_uuid, status)`` of each account of the pupil, oldest first."""
    return tuple(
        (row.account_uuid, row.status)
        for row in session.execute(
            select(Account.account_uuid, Account.status)
            .where(Account.pupil_id == pupil_id)
            .order_by(Account.created_at, Account.account_uuid)
        )
    )


def _schools_on(session: Session, pupil_id: int, on: dt.date) -> tuple[str, ...]:
    """The schools the pupil is enrolled in on day ``on`` (sorted, distinct)."""
    return tuple(
        session.scalars(
            select(Enrolment.instellingsnummer)
            .join(Registration, Registration.referte == Enrolment.referte)
            .where(Registration.pupil_id == pupil_id, *active_on(on))
            .distinct()
            .order_by(Enrolment.instellingsnummer)
        )
    )


def pupil_identifiers(session: Session, pupil_id: int) -> tuple[set[str], set[str]]:
    """Every identifier the pupil ever had: (leer_id_uuids, account_uuids).

    Art. 3: its ``leer_id_uuid`` and those absorbed into it by merges (also chains), and all
    its accounts, past and present: permanent, temporary and retired (the accounts in its
    ``historiek_account_uuid``, including the temporary ones retired at identification).
    """
    current = session.scalar(select(Pupil.leer_id_uuid).where(Pupil.id == pupil_id))
    leer_ids: set[str] = set()
    todo = [current] if current else []
    while todo:
        uuid = todo.pop()
        if uuid in leer_ids:
            continue
        leer_ids.add(uuid)
        todo.extend(
            session.scalars(
                select(MergeRecord.absorbed_leer_id_uuid).where(
                    MergeRecord.kept_leer_id_uuid == uuid
                )
            )
        )
    accounts = set(
        session.scalars(select(Account.account_uuid).where(Account.pupil_id == pupil_id))
    )
    return leer_ids, accounts
