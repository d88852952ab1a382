"""Art. 11 at DOV: the parties' registered signing keys and the recorded signatures.

A signature is either a compact JWS made with ``leerid protocol sign`` (verified against
the registered key of its party each time it is judged) or an attestation of a signature
made outside leerid (the 2024 PDF), recorded by a named operator. Both are bound to the
content hash of the version they were recorded against; nothing is ever overwritten. Each
recorded signature appends a ``protocol_signature`` entry to the transparency log in the
same transaction (issue 12 §1): the party, the method and the key id, never the signer's name.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, DateTime, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from leerid.errors import LeeridError
from leerid.idp.store.tlog.append import append_recorded
from leerid.protocol.lifecycle import brussels, start_of_day
from leerid.protocol.signing import Expected, Verdict, algorithm_for, thumbprint, verify_signature
from leerid.store.base import Base
from leerid.transparency.entries import protocol_entry


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)  # SQLite keeps no offset; we always write UTC.


class ProtocolKey(Base):
    """A party's public signing key (JWK), registered by an operator."""

    __tablename__ = "protocol_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kid: Mapped[str] = mapped_column(String(100), index=True)
    party: Mapped[str] = mapped_column(String(20))
    protocol_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    alg: Mapped[str] = mapped_column(String(10))
    public_jwk: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    added_by: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)


class ProtocolSignature(Base):
    """A recorded signature (``kind`` 'jws') or attestation (``kind`` 'attestation')."""

    __tablename__ = "protocol_signature"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    protocol_id: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    party: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    signer: Mapped[str] = mapped_column(String(200))
    signed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    day_only: Mapped[bool] = mapped_column(Boolean, default=False)
    jws: Mapped[str | None] = mapped_column(Text, nullable=True)
    kid: Mapped[str | None] = mapped_column(String(100), nullable=True)
    document_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    operator: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=_utcnow)


def add_key(
    session: Session,
    public_jwk: dict[str, Any],
    *,
    party: str,
    added_by: str,
    protocol_id: str | None = None,
    expires_at: dt.datetime | None = None,
) -> ProtocolKey:
    """Register ``public_jwk`` (already stripped and checked) for ``party``."""
    kid = thumbprint(public_jwk)
    for row in session.scalars(select(ProtocolKey).where(ProtocolKey.kid == kid)):
        if row.party != party:
            raise LeeridError(f"key {kid} is already registered for party {row.party}")
        if row.protocol_id == protocol_id:
            return row
    row = ProtocolKey(
        kid=kid,
        party=party,
        protocol_id=protocol_id,
        alg=algorithm_for(public_jwk),
        public_jwk=json.dumps(public_jwk, sort_keys=True),
        expires_at=None if expires_at is None else expires_at.astimezone(dt.UTC),
        added_by=added_by,
        added_at=_utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def registered_key(
    session: Session, kid: str | None, party: str, protocol_id: str
) -> ProtocolKey | None:
    """The key ``kid`` registered for ``party`` (for this protocol or for every protocol)."""
    if kid is None:
        return None
    rows = session.scalars(
        select(ProtocolKey).where(ProtocolKey.kid == kid, ProtocolKey.party == party)
    )
    return next((r for r in rows if r.protocol_id in (None, protocol_id)), None)


def expectation(
    session: Session, protocol_id: str, version: int, content_hash: str, party: str, kid: str | None
) -> Expected:
    """What a JWS over this version by ``party`` must say, and the registered key ``kid``."""
    key = registered_key(session, kid, party, protocol_id)
    return Expected(
        protocol_id=protocol_id,
        version=version,
        content_hash=content_hash,
        party=party,
        key=None if key is None else json.loads(key.public_jwk),
        key_expires=None if key is None else _aware(key.expires_at),
    )


def record(session: Session, **values: Any) -> ProtocolSignature:
    """Store one signature or attestation as given (the caller checked the version), with
    its log entry (issue 12 §1)."""
    values["signed_at"] = values["signed_at"].astimezone(dt.UTC)  # SQLite keeps no offset
    row = ProtocolSignature(recorded_at=_utcnow(), **values)
    session.add(row)
    session.flush()
    entry = protocol_entry(
        "protocol_signature",
        at=row.recorded_at,
        protocol=row.protocol_id,
        protocol_hash=row.content_hash,
        party=row.party,
        method=row.kind,
        key=row.kid,
    )
    append_recorded(session, f"the {row.party}'s signature of {row.protocol_id}", entry)
    return row


@dataclass(frozen=True)
class Judged:
    """One recorded signature or attestation and the verdict on it now."""

    row_id: int
    version: int
    party: str
    kind: str
    signer: str
    operator: str
    effective: dt.datetime  # art. 11: the day's start in Brussels unless a time was given
    verdict: Verdict


def judge(session: Session, row: ProtocolSignature, content_hash: str) -> Judged:
    """The verdict on ``row`` against the version's current ``content_hash``."""
    signed_at = _aware(row.signed_at)
    assert signed_at is not None
    effective = start_of_day(brussels(signed_at).date()) if row.day_only else signed_at
    if row.kind == "attestation":
        ok = row.content_hash == content_hash
        verdict = Verdict(ok, "ok" if ok else "recorded over another content hash")
    else:
        expected = expectation(
            session, row.protocol_id, row.version, content_hash, row.party, row.kid
        )
        verdict = verify_signature(row.jws or "", expected)
        if verdict.valid and verdict.signed_at is not None:
            effective = verdict.signed_at
    return Judged(
        row.id, row.version, row.party, row.kind, row.signer, row.operator, effective, verdict
    )


def judged_signatures(session: Session, protocol_id: str, hashes: dict[int, str]) -> list[Judged]:
    """Every recorded signature of ``protocol_id``, judged against ``hashes`` (version->hash)."""
    rows = session.scalars(
        select(ProtocolSignature)
        .where(ProtocolSignature.protocol_id == protocol_id)
        .order_by(ProtocolSignature.version, ProtocolSignature.id)
    )
    return [judge(session, row, hashes.get(row.version, "")) for row in rows]
