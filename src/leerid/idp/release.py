"""What the identity provider releases: the pupil's data fetched now, filtered by the protocol.

Art. 5: the pupil's data is fetched at every login (and at every userinfo call) from the
registry. Art. 3 and 11: ``leerid.protocol.release_claims`` decides which claims a client
receives under the current stored version of its protocol.
"""

from __future__ import annotations

import bisect
import datetime as dt
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Connection,
    Date,
    Engine,
    Select,
    bindparam,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased

from leerid.idp.store._fast_path import HotStatement, connection
from leerid.protocol import (
    Protocol,
    PupilClaims,
    allowed_scopes,
    release_claims,
    status,
)
from leerid.protocol.lifecycle import BRUSSELS, advised_at, in_force_from, start_of_day
from leerid.registry.models import Account, AccountStatus, Enrolment, Pupil, Registration

__all__ = [
    "NON_DATA_SCOPES",
    "BoundProtocol",
    "ProtocolCache",
    "Release",
    "decide",
    "fetch_pupil",
    "pupil_columns",
    "pupil_from_row",
    "release_for",
    "today",
]

NON_DATA_SCOPES = frozenset({"offline_access"})
"""Scopes the provider handles itself (OIDC Core §11: refresh tokens); they carry no data."""


def status_boundaries(protocol: Protocol) -> tuple[dt.datetime, ...]:
    """Every moment at which the status of ``protocol`` can change, in order.

    ``leerid.protocol.lifecycle.status`` compares the moment only with these: the DPOs'
    advice, each signature, the entry into force, the end of the term (art. 5, 11) and each
    status change. Between two of them (from one, included, to the next, excluded) the status
    is constant.
    """
    moments: set[dt.datetime] = {s.signed_at for s in protocol.signatures}
    moments.update(change.effective for change in protocol.status_changes)
    for moment in (advised_at(protocol), in_force_from(protocol)):
        if moment is not None:
            moments.add(moment)
    ends_on = protocol.communication.ends_on
    if ends_on is not None:
        moments.add(start_of_day(ends_on + dt.timedelta(days=1)))
    return tuple(sorted(moments))


@dataclass(frozen=True)
class BoundProtocol:
    """The stored protocol version a client is bound to.

    The status is computed once per stretch between two ``status_boundaries`` and reused
    until the next boundary (never across one); a newly stored version is a new
    ``BoundProtocol`` (``ProtocolCache`` reloads every few seconds), so its status counts
    from then on.
    """

    protocol_id: str
    version: int | str
    content_hash: str
    protocol: Protocol
    _scopes: frozenset[str] = field(init=False, repr=False, compare=False)
    _boundaries: tuple[dt.datetime, ...] = field(init=False, repr=False, compare=False)
    _status: list[tuple[dt.datetime | None, dt.datetime | None, str]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_scopes", allowed_scopes(self.protocol) | NON_DATA_SCOPES)
        object.__setattr__(self, "_boundaries", status_boundaries(self.protocol))
        object.__setattr__(self, "_status", [])

    def allowed_scopes(self) -> frozenset[str]:
        """The scopes a client of this protocol may request (data scopes + offline_access)."""
        return self._scopes

    def status_at(self, at: dt.datetime) -> str:
        """Art. 11: the protocol's status (``in_force`` permits disclosure)."""
        if self._status:
            start, end, known = self._status[0]
            if (start is None or at >= start) and (end is None or at < end):
                return known
        state = str(status(self.protocol, at).value)
        index = bisect.bisect_right(self._boundaries, at)
        start = self._boundaries[index - 1] if index > 0 else None
        end = self._boundaries[index] if index < len(self._boundaries) else None
        self._status[:] = [(start, end, state)]  # one entry, replaced whole (thread-safe)
        return state


class ProtocolCache:
    """Current stored protocol versions, cached per process for a few seconds."""

    def __init__(self, engine: Engine, cache_seconds: float) -> None:
        self._engine = engine
        self._cache_seconds = cache_seconds
        self._entries: dict[str, tuple[float, BoundProtocol | None]] = {}
        self._lock = threading.Lock()

    def get(self, protocol_id: str) -> BoundProtocol | None:
        """The current version of ``protocol_id``, or None when it was never stored."""
        now = time.monotonic()
        entry = self._entries.get(protocol_id)
        if entry is None or now - entry[0] > self._cache_seconds:
            from leerid.idp.store.protocols import current_protocol

            with Session(self._engine) as session:
                stored = current_protocol(session, protocol_id)
            bound = (
                None
                if stored is None
                else BoundProtocol(
                    protocol_id=stored.protocol_id,
                    version=stored.version,
                    content_hash=stored.content_hash,
                    protocol=stored.protocol,
                )
            )
            with self._lock:
                self._entries[protocol_id] = (now, bound)
            entry = (now, bound)
        return entry[1]


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
        Account.status,
        Pupil.leer_id_uuid,
        Pupil.insz,
        Pupil.naam,
        Pupil.voornaam,
        historiek.label("historiek"),
        orgcodes.label("orgcodes"),
    ]


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
    longer logs in).
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


@dataclass(frozen=True)
class Release:
    """The outcome of one release decision."""

    claims: dict[str, object]
    pupil: PupilClaims | None
    refused: str | None  # the reason when nothing may be released


def release_for(
    engine: Engine,
    protocol: BoundProtocol | None,
    scopes: Collection[str],
    account_uuid: str,
    at: dt.datetime,
    conn: Connection | None = None,
) -> Release:
    """The claims for ``account_uuid`` under ``protocol``, or the reason for refusing."""
    refused = protocol_refusal(protocol, at)
    if refused is not None:
        return Release({}, None, refused)
    with connection(engine, conn) as used:
        pupil = fetch_pupil(used, account_uuid, today(at))
    return decide(protocol, scopes, pupil, at)


def today(at: dt.datetime) -> dt.date:
    """The day in Brussels (enrolments are active on days, art. 3)."""
    return at.astimezone(BRUSSELS).date()


def protocol_refusal(protocol: BoundProtocol | None, at: dt.datetime) -> str | None:
    """Art. 11: why nothing may be released under ``protocol`` now, or None."""
    if protocol is None:
        return "protocol_not_stored"
    state = protocol.status_at(at)
    return None if state == "in_force" else f"protocol_{state}"


def decide(
    protocol: BoundProtocol | None,
    scopes: Collection[str],
    pupil: PupilClaims | None,
    at: dt.datetime,
) -> Release:
    """The release for a pupil already fetched (art. 3 through ``release_claims``)."""
    refused = protocol_refusal(protocol, at)
    if refused is not None:
        return Release({}, None, refused)
    assert protocol is not None
    if pupil is None:
        return Release({}, None, "account_unknown_or_retired")
    return Release(release_claims(protocol.protocol, scopes, pupil, at), pupil, None)
