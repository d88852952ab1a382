"""The transparency log's tables (migration ``0012_idp_tlog``).

- ``idp_tlog_entry``: one row per entry, appended in the transaction of what it records
  (issue 12 §1). ``seq`` comes from the database at the append; ``idx``, the entry's place
  in the tree, stays empty until the integrator gives it (§6: no gaps, no index twice).
- ``idp_tlog_tile``: the tree as C2SP tlog-tiles: at level L, tile N holds up to 256 hashes
  (32 bytes each) of the subtrees of 256**L leaves; a partial tile grows in place.
- ``idp_tlog_state``: one row: the integrated size and root, and the integrator's lease.
- ``idp_tlog_checkpoint``: every checkpoint DOV signed (a C2SP signed note).
- ``idp_tlog_witness`` and ``idp_tlog_cosignature``: the recipients that witness the log and
  the cosignatures they returned (C2SP tlog-cosignature).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, Index, Integer, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from leerid.store.base import Base

__all__ = [
    "TlogCheckpoint",
    "TlogCosignature",
    "TlogEntry",
    "TlogState",
    "TlogTile",
    "TlogWitness",
]

_BIGINT_ID = BigInteger().with_variant(Integer, "sqlite")  # SQLite: the rowid itself


class TlogEntry(Base):
    """Issue 12 §1: one entry (canonical JSON, no personal data) and its leaf hash."""

    __tablename__ = "idp_tlog_entry"
    __table_args__ = (
        Index("ix_idp_tlog_entry_leaf_hash", "leaf_hash"),
        Index(
            "ix_idp_tlog_entry_pending",
            "seq",
            postgresql_where="idx IS NULL",
            sqlite_where="idx IS NULL",
        ),
    )

    seq: Mapped[int] = mapped_column(_BIGINT_ID, primary_key=True, autoincrement=True)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    idx: Mapped[int | None] = mapped_column(BigInteger, unique=True)


class TlogTile(Base):
    """C2SP tlog-tiles: the hashes of tile ``idx`` at ``level`` (width = len(hashes) / 32)."""

    __tablename__ = "idp_tlog_tile"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hashes: Mapped[bytes] = mapped_column(LargeBinary)


class TlogState(Base):
    """The one row (id 1): the integrated tree and who integrates (issue 12 §6)."""

    __tablename__ = "idp_tlog_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    integrator: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    integrated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class TlogCheckpoint(Base):
    """Issue 12 §2: a checkpoint DOV signed: the signed note as published, DOV's line only."""

    __tablename__ = "idp_tlog_checkpoint"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class TlogWitness(Base):
    """Issue 12 §3: a recipient that cosigns checkpoints, by its C2SP verifier key."""

    __tablename__ = "idp_tlog_witness"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    vkey: Mapped[str] = mapped_column(String(400))
    added_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class TlogCosignature(Base):
    """Issue 12 §3: a witness's cosignature of a checkpoint (the note's signature line)."""

    __tablename__ = "idp_tlog_cosignature"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    witness: Mapped[str] = mapped_column(String(200), primary_key=True)
    line: Mapped[str] = mapped_column(Text)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
