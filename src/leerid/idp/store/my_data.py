"""Art. 7 and GDPR art. 15 for the pupil: what was disclosed about them, and their report.

The pupil's own page (``/op/v1/mijn-gegevens``) shows every release of their data to every
service provider, under every account they have or had (temporary accounts retired at
identification and merged pupils included: ``pupil_keys``), with the service's name, the
protocol version the release was made under, and whether its "bewijs" (issue 12 §5: the
receipt of the release's transparency-log entry) can be downloaded yet.

One rule binds both the page and the receipt download to the logged-in pupil: ``_mine``.
A leaf hash that is not the leaf of one of *these* records is, to the download, the same
as an unknown one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import ColumnElement, Engine, false, func, or_, select
from sqlalchemy.orm import Session

from leerid.idp.store.disclosures import pupil_keys
from leerid.idp.store.models import Disclosure, IdpClient
from leerid.idp.store.protocols import ProtocolVersion
from leerid.idp.store.tlog.tables import TlogEntry
from leerid.idp.store.tlog.tree import newest_checkpoint_size

__all__ = ["BEFORE_LOG", "PENDING", "READY", "MyDisclosure", "ProofState", "my_disclosures"]

ProofState = Literal["ready", "pending", "before_log"]
READY: ProofState = "ready"
"""The record's entry is in the newest checkpoint: its receipt can be made."""
PENDING: ProofState = "pending"
"""The entry is appended but not yet in a signed checkpoint (issue 12 §2: within seconds)."""
BEFORE_LOG: ProofState = "before_log"
"""A release from before the transparency log: it has no entry, so no receipt."""


@dataclass(frozen=True)
class MyDisclosure:
    """One release of the pupil's data, as their page shows it."""

    at: dt.datetime
    client_id: str
    client_name: str
    claims: tuple[str, ...]
    protocol_id: str | None
    protocol_version: int | None
    log_leaf: bytes | None = None
    proof: ProofState = BEFORE_LOG
    client_subject: str = "account_uuid"
    """Issue 14 point 2: what the client's ``sub`` is (``profiles.SUBJECT_TYPES``)."""


def _mine(session: Session, account_uuid: str) -> ColumnElement[bool]:
    """GDPR art. 15: the released records of the pupil who owns ``account_uuid``, under
    every Leer_id_uuid and account it has or had (art. 3: historiek, merges)."""
    _pupil_id, leer_ids, accounts = pupil_keys(session, account_uuid)
    accounts |= {account_uuid}
    return (Disclosure.outcome == "released") & or_(
        Disclosure.leer_id_uuid.in_(sorted(leer_ids)) if leer_ids else false(),
        Disclosure.account_uuid.in_(sorted(accounts)),
    )


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _indexes(session: Session, leaves: Iterable[bytes]) -> dict[bytes, int]:
    """The tree index of each leaf hash that is integrated (RFC 9162 §2.1: its place)."""
    wanted = sorted(set(leaves))
    if not wanted:
        return {}
    rows = session.execute(
        select(TlogEntry.leaf_hash, func.min(TlogEntry.idx))
        .where(TlogEntry.leaf_hash.in_(wanted), TlogEntry.idx.is_not(None))
        .group_by(TlogEntry.leaf_hash)
    )
    return {bytes(leaf): int(index) for leaf, index in rows if index is not None}


def _proof_state(leaf: bytes | None, indexes: dict[bytes, int], size: int) -> ProofState:
    if leaf is None:
        return BEFORE_LOG
    index = indexes.get(leaf)
    return READY if index is not None and index < size else PENDING


def my_disclosures(engine: Engine, account_uuid: str, limit: int = 500) -> list[MyDisclosure]:
    """The releases of the data of the pupil who owns ``account_uuid``, newest first, each
    with the state of its receipt."""
    with Session(engine) as session:
        records = session.execute(
            select(Disclosure)
            .where(_mine(session, account_uuid))
            .order_by(Disclosure.at.desc(), Disclosure.id.desc())
            .limit(limit)
        ).scalars()
        rows = list(records)
        clients: dict[str, tuple[str, str]] = {
            client_id: (name, subject)
            for client_id, name, subject in session.execute(
                select(IdpClient.client_id, IdpClient.name, IdpClient.subject).where(
                    IdpClient.client_id.in_(sorted({r.client_id for r in rows}))
                )
            ).all()
        }
        hashes = sorted({r.protocol_hash for r in rows if r.protocol_hash})
        versions = {
            (pid, digest): version
            for pid, digest, version in session.execute(
                select(
                    ProtocolVersion.protocol_id,
                    ProtocolVersion.content_hash,
                    ProtocolVersion.version,
                ).where(ProtocolVersion.content_hash.in_(hashes))
            ).all()
        }
        indexes = _indexes(session, (r.log_leaf for r in rows if r.log_leaf))
        size = newest_checkpoint_size(session.connection()) if indexes else 0
    return [
        MyDisclosure(
            at=_utc(r.at),
            client_id=r.client_id,
            client_name=clients.get(r.client_id, (r.client_id, ""))[0],
            claims=tuple(r.claims.split()) if r.claims else (),
            protocol_id=r.protocol_id,
            protocol_version=versions.get((r.protocol_id or "", r.protocol_hash or "")),
            log_leaf=r.log_leaf,
            proof=_proof_state(r.log_leaf, indexes, size),
            client_subject=clients.get(r.client_id, ("", "account_uuid"))[1],
        )
        for r in rows
    ]


@dataclass(frozen=True)
class MyEntry:
    """A release of this pupil's data and its log entry (the receipt's subject)."""

    disclosure: MyDisclosure
    index: int | None
    """The entry's index in the tree; None while it waits for the integrator."""


def my_entry(engine: Engine, account_uuid: str, leaf: bytes) -> MyEntry | None:
    """The release of this pupil's data whose entry has leaf hash ``leaf``; None for any
    other leaf, known or not (issue 12 §5: no enumeration of other pupils' entries)."""
    with Session(engine) as session:
        row = session.execute(
            select(Disclosure, IdpClient.name)
            .outerjoin(IdpClient, IdpClient.client_id == Disclosure.client_id)
            .where(Disclosure.log_leaf == leaf, _mine(session, account_uuid))
            .limit(1)
        ).first()
        if row is None:
            return None
        record, name = row
        index = _indexes(session, [leaf]).get(leaf)
    found = MyDisclosure(
        at=_utc(record.at),
        client_id=record.client_id,
        client_name=name or record.client_id,
        claims=tuple(record.claims.split()) if record.claims else (),
        protocol_id=record.protocol_id,
        protocol_version=None,
        log_leaf=leaf,
    )
    return MyEntry(found, index)
