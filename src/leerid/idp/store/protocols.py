"""The database store of protocol versions: every version ever added, never overwritten.

Each version is kept with its content hash (SHA-256 of the canonical JSON form), so every
later disclosure can name the exact version it was made under. Adding the same content again
returns the existing row; adding changed content makes the next version, and appends a
``protocol_version`` entry to the transparency log in the same transaction (issue 12 §1).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, replace

from sqlalchemy import DateTime, Engine, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from leerid.errors import StorageError
from leerid.idp.release import BoundProtocol
from leerid.idp.store.endings import RecordedEnding, find_ending, read_ending
from leerid.idp.store.signatures import Judged, judged_signatures, record
from leerid.idp.store.tlog.append import append_recorded
from leerid.protocol import Protocol, content_hash
from leerid.protocol.canonical import canonical_json, from_canonical_json
from leerid.protocol.lifecycle import in_force_from, status
from leerid.protocol.model import PartyRole
from leerid.protocol.parties import Signature
from leerid.protocol.status_changes import with_ending
from leerid.store.base import Base
from leerid.transparency.entries import protocol_entry


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ProtocolVersion(Base):
    """One stored version of a protocol: its canonical JSON, its hash and its source text."""

    __tablename__ = "protocol_version"
    __table_args__ = (
        UniqueConstraint("protocol_id", "version", name="uq_protocol_version_protocol_id_version"),
        UniqueConstraint(
            "protocol_id", "content_hash", name="uq_protocol_version_protocol_id_content_hash"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    protocol_id: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    canonical_json: Mapped[str] = mapped_column(Text)
    source_text: Mapped[str] = mapped_column(Text)
    added_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)
    added_by: Mapped[str | None] = mapped_column(String(200), nullable=True)


@dataclass(frozen=True)
class StoredProtocol:
    """A protocol version as stored: ``version`` counts 1, 2, … per ``protocol_id``."""

    protocol_id: str
    version: int
    content_hash: str
    added_at: dt.datetime
    protocol: Protocol
    source_text: str = ""
    added_by: str | None = None


def _stored(row: ProtocolVersion) -> StoredProtocol:
    added_at = row.added_at
    if added_at.tzinfo is None:  # SQLite keeps no offset; we always write UTC.
        added_at = added_at.replace(tzinfo=dt.UTC)
    return StoredProtocol(
        protocol_id=row.protocol_id,
        version=row.version,
        content_hash=row.content_hash,
        added_at=added_at,
        protocol=from_canonical_json(row.canonical_json),
        source_text=row.source_text,
        added_by=row.added_by,
    )


def add_protocol(
    session: Session, protocol: Protocol, source_text: str, added_by: str | None = None
) -> StoredProtocol:
    """Store ``protocol``; same content returns the existing version, changed content a new one."""
    digest = content_hash(protocol)
    existing = session.scalars(
        select(ProtocolVersion).where(
            ProtocolVersion.protocol_id == protocol.id, ProtocolVersion.content_hash == digest
        )
    ).first()
    if existing is not None:
        return _stored(existing)
    newest = session.scalar(
        select(func.max(ProtocolVersion.version)).where(ProtocolVersion.protocol_id == protocol.id)
    )
    row = ProtocolVersion(
        protocol_id=protocol.id,
        version=(newest or 0) + 1,
        content_hash=digest,
        canonical_json=canonical_json(protocol),
        source_text=source_text,
        added_at=_utcnow(),
        added_by=added_by,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        # The unique constraints hold when two processes add at the same moment.
        raise StorageError(
            f"another process stored a version of protocol {protocol.id} at the same moment; "
            "run the command again"
        ) from None
    entry = protocol_entry(
        "protocol_version",
        at=row.added_at,
        protocol=row.protocol_id,
        protocol_hash=digest,
        version=row.version,
    )
    append_recorded(session, f"version {row.version} of protocol {row.protocol_id}", entry)
    return _stored(row)


def current_protocol(session: Session, protocol_id: str) -> StoredProtocol | None:
    """The newest added version of ``protocol_id``, or ``None`` when it was never added."""
    row = session.scalars(
        select(ProtocolVersion)
        .where(ProtocolVersion.protocol_id == protocol_id)
        .order_by(ProtocolVersion.version.desc())
        .limit(1)
    ).first()
    return _stored(row) if row is not None else None


def protocol_by_hash(session: Session, digest: str) -> StoredProtocol | None:
    """The stored version with content hash ``digest`` (what a disclosure record names)."""
    row = session.scalars(
        select(ProtocolVersion).where(ProtocolVersion.content_hash == digest).limit(1)
    ).first()
    return _stored(row) if row is not None else None


def protocol_versions(session: Session, protocol_id: str) -> list[StoredProtocol]:
    """Every stored version of ``protocol_id``, oldest first."""
    rows = session.scalars(
        select(ProtocolVersion)
        .where(ProtocolVersion.protocol_id == protocol_id)
        .order_by(ProtocolVersion.version)
    )
    return [_stored(r) for r in rows]


def list_protocols(session: Session) -> list[StoredProtocol]:
    """Every stored version of every protocol, by id and version."""
    rows = session.scalars(
        select(ProtocolVersion).order_by(ProtocolVersion.protocol_id, ProtocolVersion.version)
    )
    return [_stored(r) for r in rows]


def as_signed(stored: StoredProtocol, judged: list[Judged]) -> StoredProtocol:
    """Art. 11: ``stored`` with only its recorded, valid signatures (the earliest per party).

    The signature block of the YAML file is the parties' statement, not proof: a version is
    signed only by what ``leerid protocol sign`` or ``attest`` recorded over its exact hash.
    """
    first: dict[str, Judged] = {}
    for item in judged:
        if not (item.version == stored.version and item.verdict.valid):
            continue
        if item.party not in first or item.effective < first[item.party].effective:
            first[item.party] = item
    signatures = tuple(
        Signature(party=PartyRole(j.party), name=j.signer or j.operator, signed_at=j.effective)
        for j in first.values()
    )
    protocol = stored.protocol.model_copy(update={"signatures": signatures})
    return replace(stored, protocol=protocol)


def signed_versions(session: Session, protocol_id: str) -> list[StoredProtocol]:
    """Every version of ``protocol_id``, oldest first, signed only as recorded (art. 11)."""
    versions = protocol_versions(session, protocol_id)
    judged = judged_signatures(session, protocol_id, {v.version: v.content_hash for v in versions})
    return [as_signed(v, judged) for v in versions]


def bound_version(session: Session, protocol_id: str, at: dt.datetime) -> StoredProtocol | None:
    """The version clients are bound to at ``at``: the newest one in force by then.

    Art. 11: a new version replaces the old one only once both parties' valid signatures
    over its hash are recorded, from the later of the two; until then the old one stays
    (and when none was ever in force, the newest version, whose status says why not).
    A newer version that terminates or ends the protocol binds at once, unsigned.
    """
    versions = signed_versions(session, protocol_id)
    started = [v for v in versions if (start := in_force_from(v.protocol)) and start <= at]
    bound = started[-1] if started else (versions[-1] if versions else None)
    for newer in versions:
        # Art. 8 and 11: stopping needs no signature (DOV alone, by simple notice); a newer
        # version that terminates or ends the protocol binds at once. Fail closed.
        stops = status(newer.protocol, at).value in ("terminated", "ended")
        if stops and bound is not None and newer.version > bound.version:
            bound = newer
    return bound


def attest_signature_block(session: Session, stored: StoredProtocol, operator: str) -> int:
    """Record the file's own signature block as attestations by ``operator``; how many new.

    For the testing kit and the demo, whose files state how they were signed; in service,
    each party's signature is recorded with ``leerid protocol sign`` or ``attest``.
    """
    recorded = {
        (j.party, j.signer, j.effective)
        for j in judged_signatures(session, stored.protocol_id, {stored.version: ""})
        if j.version == stored.version
    }
    added = 0
    for sig in stored.protocol.signatures:
        if (sig.party.value, sig.name, sig.signed_at) in recorded:
            continue
        record(
            session,
            protocol_id=stored.protocol_id,
            version=stored.version,
            content_hash=stored.content_hash,
            party=sig.party.value,
            kind="attestation",
            signer=sig.name,
            signed_at=sig.signed_at,
            day_only=False,
            operator=operator,
        )
        added += 1
    return added


class ProtocolCache:
    """Current stored protocol versions, cached per process for a few seconds.

    The end of a protocol (art. 8, 11) is read on every ``get`` (one indexed read) until
    this process has seen it, so a termination counts at once on every node; once seen it
    is kept, since an end is final. ``current`` takes the answer from the statement the
    request runs anyway (``ending_exists``) and reads the end only when it exists.
    """

    def __init__(self, engine: Engine, cache_seconds: float) -> None:
        self._engine = engine
        self._cache_seconds = cache_seconds
        self._entries: dict[str, tuple[float, BoundProtocol | None]] = {}
        self._endings: dict[str, RecordedEnding] = {}
        self._ended: dict[str, tuple[BoundProtocol, BoundProtocol]] = {}
        self._lock = threading.Lock()

    def get(self, protocol_id: str) -> BoundProtocol | None:
        """The current version of ``protocol_id`` with its end, or None when never stored."""
        entry, ending, checked = self._cached(protocol_id)
        if not checked:
            with self._engine.connect() as conn:
                ending = read_ending(conn, protocol_id)
        return self._ended_if(entry, ending)

    def current(self, protocol_id: str, ending_exists: bool) -> BoundProtocol | None:
        """``get`` for a request whose own statement said whether an end of the protocol
        exists (art. 8, 11): the end is read only when it exists and is not known yet."""
        entry, ending, checked = self._cached(protocol_id)
        if not checked and ending_exists:
            with self._engine.connect() as conn:
                ending = read_ending(conn, protocol_id)
        return self._ended_if(entry, ending)

    def _cached(self, protocol_id: str) -> tuple[BoundProtocol | None, RecordedEnding | None, bool]:
        """The cached version (reloaded, with its end, when older than ``cache_seconds``),
        the end this process knows, and whether that end is known or was read just now."""
        now = time.monotonic()
        entry = self._entries.get(protocol_id)
        ending = self._endings.get(protocol_id)
        if entry is None or now - entry[0] > self._cache_seconds:
            with Session(self._engine) as session:
                stored = bound_version(session, protocol_id, dt.datetime.now(dt.UTC))
                ending = ending or find_ending(session, protocol_id)
            entry = (now, None if stored is None else _bound(stored))
            with self._lock:
                self._entries[protocol_id] = entry
            return entry[1], ending, True
        return entry[1], ending, ending is not None

    def _ended_if(
        self, bound: BoundProtocol | None, ending: RecordedEnding | None
    ) -> BoundProtocol | None:
        if ending is None or bound is None:
            return bound
        return self._with_ending(bound, ending)

    def _with_ending(self, bound: BoundProtocol, ending: RecordedEnding) -> BoundProtocol:
        """``bound`` ended by ``ending`` (made once per version, so its status cache holds)."""
        self._endings.setdefault(bound.protocol_id, ending)
        made = self._ended.get(bound.protocol_id)
        if made is not None and made[0] is bound:
            return made[1]
        protocol = bound.protocol
        changes = with_ending(protocol.status_changes, ending.status_change())
        ended = BoundProtocol(
            protocol_id=bound.protocol_id,
            version=bound.version,
            content_hash=bound.content_hash,
            protocol=protocol.model_copy(update={"status_changes": changes}),
        )
        with self._lock:
            self._ended[bound.protocol_id] = (bound, ended)
        return ended


def _bound(stored: StoredProtocol) -> BoundProtocol:
    return BoundProtocol(
        protocol_id=stored.protocol_id,
        version=stored.version,
        content_hash=stored.content_hash,
        protocol=stored.protocol,
    )
