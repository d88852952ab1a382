"""Issue 4 §5: the disclosure log — who received which attributes of a pupil, and when.

One record per release (ID token, userinfo, introspection that returns claims) and per
refusal, with the claim *names* only, never their values: it answers a pupil's GDPR art. 15
question "who received my data, when, which attributes". Issue 12 §1: each record is written
with its transparency-log entry, in one statement or one transaction, and keeps the entry's
leaf hash (``log_leaf``); no record without its entry, no entry without its record.
One exception: a refused login (``write_private_record``) released nothing and stays out of
the public log, whose size would otherwise tell that a username exists.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, bindparam, false, insert, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from leerid.idp.store._fast_path import HotStatement
from leerid.idp.store.models import Disclosure
from leerid.idp.store.tlog.append import (
    append_row,
    entry_row,
    fail_closed,
    pupil_identifier,
    pupil_secret,
)
from leerid.idp.store.tlog.tables import TlogEntry
from leerid.registry.lookup import pupil_identifiers, resolve_pupil_id
from leerid.transparency.entries import LogEntry, disclosure_entry

__all__ = [
    "DisclosureEntry",
    "DisclosureRecord",
    "DisclosureRows",
    "entry_params",
    "insert_disclosure",
    "list_disclosures",
    "pupil_history",
    "pupil_keys",
    "received_claims",
    "record_disclosure",
    "write_disclosure",
    "write_private_record",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DisclosureRecord:
    """One line of the log, as ``leerid disclosures list`` shows it."""

    at: dt.datetime
    client_id: str
    protocol_id: str | None
    protocol_hash: str | None
    leer_id_uuid: str | None
    account_uuid: str | None
    claims: tuple[str, ...]
    endpoint: str
    outcome: str
    reason: str | None

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict (time in ISO 8601)."""
        data = asdict(self)
        data["at"] = self.at.isoformat()
        data["claims"] = list(self.claims)
        return data


@dataclass(frozen=True)
class DisclosureRows:
    """A record and its log entry, made together so that they say the same (issue 12 §1)."""

    record: dict[str, Any]
    """The ``idp_disclosure`` column values, ``log_leaf`` included."""
    entry: dict[str, Any]
    """The ``idp_tlog_entry`` column values (``entry_row``)."""

    @property
    def leaf(self) -> bytes:
        """The RFC 9162 leaf hash of the entry (the record's ``log_leaf``)."""
        return bytes(self.entry["leaf_hash"])


@dataclass(frozen=True)
class DisclosureEntry:
    """One record to write: a release or a refusal, with the claim names only."""

    client_id: str
    endpoint: str
    claims: Iterable[str]
    protocol_id: str | None
    protocol_hash: str | None
    leer_id_uuid: str | None
    account_uuid: str | None
    outcome: str = "released"
    reason: str | None = None
    at: dt.datetime | None = None

    def __post_init__(self) -> None:
        # Each name once, sorted, kept as a tuple: the claims may come as a one-time iterable
        # (a view, a generator) and are read for the record and for its entry.
        object.__setattr__(self, "claims", tuple(sorted(set(self.claims))))

    def log_entry(self, secret: bytes, at: dt.datetime) -> LogEntry:
        """Issue 12 §1: the record as a log entry: claim names, the pupil as a pseudonym
        keyed with ``secret`` (``pupil_secret``), no identifier in clear."""
        return disclosure_entry(
            at=at,
            client_id=self.client_id,
            endpoint=self.endpoint,
            protocol_id=self.protocol_id,
            protocol_hash=self.protocol_hash,
            claims=self.claims,
            outcome=self.outcome,
            reason=self.reason,
            pupil_secret=secret,
            pupil_identifier=pupil_identifier(self.account_uuid, self.leer_id_uuid),
        )

    def rows(self, secret: bytes) -> DisclosureRows:
        """The record's column values (claim names sorted, space-separated) and its entry's,
        with one moment for both. ``EntryError`` when the entry cannot be made."""
        at = self.at or dt.datetime.now(dt.UTC)
        entry = entry_row(self.log_entry(secret, at))
        return DisclosureRows(self.record(at, entry["leaf_hash"]), entry)

    def record(self, at: dt.datetime, leaf: bytes | None) -> dict[str, Any]:
        """The ``idp_disclosure`` column values (claim names sorted, space-separated), with
        the leaf hash of its log entry, or None for a record kept out of the log."""
        return {
            "at": at,
            "client_id": self.client_id,
            "protocol_id": self.protocol_id,
            "protocol_hash": self.protocol_hash,
            "leer_id_uuid": self.leer_id_uuid,
            "account_uuid": self.account_uuid,
            "claims": " ".join(self.claims),
            "endpoint": self.endpoint,
            "outcome": self.outcome,
            "reason": self.reason,
            "log_leaf": leaf,
        }


_INSERT = HotStatement(insert(Disclosure))
_ENTRY_PARAMS = {"leaf_hash": "e_leaf_hash", "body": "e_body"}
_INSERT_WITH_ENTRY = HotStatement(  # PostgreSQL only: SQLite has no data-modifying WITH
    insert(Disclosure).add_cte(
        insert(TlogEntry)
        .values({column: bindparam(name) for column, name in _ENTRY_PARAMS.items()})
        .cte("entry")
    )
)


def entry_params(rows: DisclosureRows) -> dict[str, Any]:
    """The entry's values as the bind parameters of a statement that writes both rows."""
    return {name: rows.entry[column] for column, name in _ENTRY_PARAMS.items()}


def insert_disclosure(conn: Connection, entry: DisclosureEntry, secret: bytes) -> bytes:
    """Write one record and its log entry on ``conn``, in the caller's transaction (two
    INSERTs; the caller commits): the entry's leaf hash."""
    rows = entry.rows(secret)
    append_row(conn, rows.entry)
    _INSERT(conn, rows.record)
    return rows.leaf


def write_disclosure(
    conn: Connection, engine: Engine, entry: DisclosureEntry, secret: bytes
) -> bytes:
    """Issue 12 §1: one record and its log entry, both or neither, fail closed.

    On PostgreSQL one statement on the autocommit ``conn`` (``WITH entry AS (INSERT INTO
    idp_tlog_entry …) INSERT INTO idp_disclosure …``: one round trip, atomic); elsewhere one
    transaction on ``engine``. The entry's leaf hash; ``LogAppendError`` when refused.
    """
    with fail_closed(f"the {entry.endpoint} disclosure record"):
        rows = entry.rows(secret)
        if conn.dialect.name == "postgresql":
            _INSERT_WITH_ENTRY(conn, {**rows.record, **entry_params(rows)})
        else:
            with engine.begin() as tx:
                append_row(tx, rows.entry)
                _INSERT(tx, rows.record)
    return rows.leaf


def write_private_record(conn: Connection, entry: DisclosureEntry) -> None:
    """Issue 4 §5: a refused login of a known account, in DOV's private disclosure log only.

    Issue 12 §1 logs what is disclosed; a refused login discloses nothing, and its public
    entry (for a known username, none for an unknown one) would let anyone tell which
    usernames exist by watching the log grow. One INSERT on the autocommit ``conn``; it is
    written after the answer was sent, so a database that refuses it leaves a warning."""
    try:
        _INSERT(conn, entry.record(entry.at or dt.datetime.now(dt.UTC), None))
    except SQLAlchemyError as exc:
        log.warning(
            "refused login of client=%s not recorded (%s)", entry.client_id, type(exc).__name__
        )


def record_disclosure(conn: Connection, **fields: Any) -> bytes:
    """Write ``DisclosureEntry(**fields)`` and its entry on ``conn`` (the caller commits)."""
    return insert_disclosure(conn, DisclosureEntry(**fields), pupil_secret(conn.engine))


def list_disclosures(
    engine: Engine,
    *,
    leer_id_uuid: str | None = None,
    account_uuid: str | None = None,
    client_id: str | None = None,
    limit: int = 1000,
) -> list[DisclosureRecord]:
    """The records for one pupil, one account or one client, newest first.

    A search by ``leer_id_uuid`` is the pupil's whole history (GDPR art. 15): the records
    under every account the pupil has or had (also a temporary account retired at
    identification, whose records carry no ``leer_id_uuid``) and under every ``leer_id_uuid``
    merged into it. A search by ``account_uuid`` is that one account.
    """
    with Session(engine) as session:
        if leer_id_uuid is not None:
            pupil_id = resolve_pupil_id(session, leer_id_uuid=leer_id_uuid)
            where = _pupil(session, pupil_id, leer_id_uuid=leer_id_uuid)
        elif account_uuid is not None:
            where = Disclosure.account_uuid == account_uuid
        else:
            where = None
        return _records(session, where, client_id, limit)


def pupil_history(
    engine: Engine, *, account_uuid: str, client_id: str | None, limit: int = 1000
) -> list[DisclosureRecord]:
    """The whole history of the pupil who owns ``account_uuid``, to ``client_id`` only (None:
    to every client, as the pupil's own page shows it)."""
    with Session(engine) as session:
        pupil_id = resolve_pupil_id(session, account_uuid=account_uuid)
        where = _pupil(session, pupil_id, account_uuid=account_uuid)
        return _records(session, where, client_id, limit)


def pupil_keys(session: Session, key: str) -> tuple[int | None, set[str], set[str]]:
    """The pupil a Leer_id_uuid or Account_uuid names: (its id, its leer_id_uuids, its
    account_uuids), every one it ever had (art. 3: historiek, merges); the key alone if
    the registry does not know it (a pupil deleted since still has records)."""
    pupil_id = resolve_pupil_id(session, leer_id_uuid=key)
    if pupil_id is None:
        pupil_id = resolve_pupil_id(session, account_uuid=key)
    if pupil_id is None:
        return None, {key}, {key}
    leer_ids, accounts = pupil_identifiers(session, pupil_id)
    return pupil_id, leer_ids, accounts


def received_claims(session: Session, key: str) -> dict[str, set[str]]:
    """Art. 4: which client received which claims of the pupil ``key`` names (released
    records under any of its identifiers): client_id -> claim names."""
    _pupil_id, leer_ids, accounts = pupil_keys(session, key)
    rows = session.execute(
        select(Disclosure.client_id, Disclosure.claims).where(
            Disclosure.outcome == "released",
            or_(
                Disclosure.leer_id_uuid.in_(sorted(leer_ids)),
                Disclosure.account_uuid.in_(sorted(accounts)),
            ),
        )
    )
    found: dict[str, set[str]] = {}
    for client_id, claims in rows:
        found.setdefault(client_id, set()).update((claims or "").split())
    return found


def _pupil(
    session: Session,
    pupil_id: int | None,
    *,
    leer_id_uuid: str | None = None,
    account_uuid: str | None = None,
) -> ColumnElement[bool]:
    """Records of every identifier of the pupil (and of the key given, if it is unknown)."""
    leer_ids, accounts = (
        pupil_identifiers(session, pupil_id) if pupil_id is not None else (set(), set())
    )
    leer_ids |= {leer_id_uuid} if leer_id_uuid else set()
    accounts |= {account_uuid} if account_uuid else set()
    return or_(
        Disclosure.leer_id_uuid.in_(sorted(leer_ids)) if leer_ids else false(),
        Disclosure.account_uuid.in_(sorted(accounts)) if accounts else false(),
    )


def _records(
    session: Session, where: ColumnElement[bool] | None, client_id: str | None, limit: int
) -> list[DisclosureRecord]:
    stmt = select(Disclosure).order_by(Disclosure.at.desc(), Disclosure.id.desc()).limit(limit)
    if where is not None:
        stmt = stmt.where(where)
    if client_id is not None:
        stmt = stmt.where(Disclosure.client_id == client_id)
    rows = session.execute(stmt).scalars().all()
    out = []
    for row in rows:
        at = row.at if row.at.tzinfo else row.at.replace(tzinfo=dt.UTC)
        out.append(
            DisclosureRecord(
                at=at,
                client_id=row.client_id,
                protocol_id=row.protocol_id,
                protocol_hash=row.protocol_hash,
                leer_id_uuid=row.leer_id_uuid,
                account_uuid=row.account_uuid,
                claims=tuple(row.claims.split()) if row.claims else (),
                endpoint=row.endpoint,
                outcome=row.outcome,
                reason=row.reason,
            )
        )
    return out
