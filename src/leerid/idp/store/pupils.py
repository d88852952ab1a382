"""Art. 5: the pupil behind an account, fetched from the registry at every release."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    Select,
    bindparam,
    case,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import aliased

from leerid.idp.store._fast_path import HotStatement
from leerid.protocol import PupilClaims
from leerid.registry.models import Account, AccountStatus, Enrolment, Pupil, Registration

__all__ = [
    "account_status",
    "fetch_pupil",
    "joined_to_pupil",
    "pupil_columns",
    "pupil_from_row",
]


def account_status() -> Any:
    """The account's status as a login sees it: ``retired`` while DOV's retention has retired
    its pupil (``pupil.retired_at``, art. 3), so that none of the pupil's accounts logs in or
    is disclosed; for a statement that joins ``account`` and ``pupil``."""
    return case(
        (Pupil.retired_at.is_not(None), literal_column(f"'{AccountStatus.RETIRED.value}'")),
        else_=Account.status,
    ).label("status")


def pupil_columns(aggregate: str) -> list[Any]:
    """Art. 5: the account's status, its pupil, the pupil's retired accounts (historiek) and
    its enrolments active on ``:on`` (the registry's ``active_on`` rule), for a statement
    that joins ``account`` and ``pupil``.

    ``aggregate`` is the dialect's string aggregate (``string_agg`` or ``group_concat``),
    written out so that the statement has no literal to render and can be prepared once.
    """

    def joined(column: Any) -> Any:
        return getattr(func, aggregate)(column, literal_column("' '"))

    retired = aliased(Account)
    historiek = (
        select(joined(retired.account_uuid))
        .where(retired.pupil_id == Account.pupil_id, retired.status == AccountStatus.RETIRED)
        .scalar_subquery()
    )
    on = bindparam("on", type_=Date)
    orgcodes = (
        select(joined(Enrolment.instellingsnummer))
        .join(Registration, Registration.referte == Enrolment.referte)
        .where(
            Registration.pupil_id == Account.pupil_id,
            Enrolment.begindatum <= on,
            or_(Enrolment.einddatum.is_(None), Enrolment.einddatum >= on),
        )
        .scalar_subquery()
    )
    return [
        account_status(),
        Pupil.leer_id_uuid,
        Pupil.insz,
        Pupil.naam,
        Pupil.voornaam,
        historiek.label("historiek"),
        orgcodes.label("orgcodes"),
    ]


def joined_to_pupil(table: Any, account_uuid: Any) -> Any:
    """``table`` joined (outer) to the pupil whose account is ``account_uuid``: the one way the
    provider's tables reach the registry's (for ``pupil_columns``)."""
    return table.outerjoin(Account, Account.account_uuid == account_uuid).outerjoin(
        Pupil, Pupil.id == Account.pupil_id
    )


def _pupil_statement(aggregate: str) -> Select[Any]:
    """The pupil behind ``:account_uuid`` in one indexed statement."""
    return (
        select(*pupil_columns(aggregate))
        .join(Pupil, Pupil.id == Account.pupil_id)
        .where(Account.account_uuid == bindparam("account_uuid"))
    )


_PUPIL = {
    "postgresql": HotStatement(_pupil_statement("string_agg")),
    "sqlite": HotStatement(_pupil_statement("group_concat")),
}


def fetch_pupil(conn: Connection, account_uuid: str, on: dt.date) -> PupilClaims | None:
    """Art. 5: the pupil behind ``account_uuid`` as the registry knows it on day ``on``.

    The same data as ``leerid.registry.lookup.find_pupil`` restricted to what a release
    needs, in one statement instead of six (it runs for every token and userinfo answer).
    The enrolment rule is the registry's ``active_on`` (begindatum <= on, no einddatum or
    einddatum >= on). None when the account is unknown or retired (a retired account no
    longer logs in), or its pupil is retired by DOV's retention (art. 3).
    """
    row = _PUPIL[conn.dialect.name](conn, {"account_uuid": account_uuid, "on": on}).first()
    return pupil_from_row(row, account_uuid)


def pupil_from_row(row: Any, account_uuid: str) -> PupilClaims | None:
    """The pupil of a row with ``pupil_columns``; None when unknown or retired."""
    if row is None or row.status is None or row.status == AccountStatus.RETIRED:
        return None
    return PupilClaims(
        account_uuid=account_uuid,
        leer_id_uuid=row.leer_id_uuid,
        historiek_account_uuid=tuple(sorted((row.historiek or "").split())),
        instellingsnummers=tuple(sorted(set((row.orgcodes or "").split()))),
        insz=row.insz,
        naam=row.naam,
        voornaam=row.voornaam,
    )
