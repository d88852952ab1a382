"""The recipient's tables for DOV's transparency log (issue 12, point 3).

The kit witnesses DOV's log: it holds each checkpoint it verified (with DOV's note, the
consistency proof from the one held before, and its own cosignature), every disclosure it
received with the leaf hash DOV named for it and, once verified, its inclusion proof, and
every alert with its evidence. Nothing here names a pupil: a leaf hash, claim names and
times only (art. 3: the kit keeps a pupil's data of the last login, no history).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from leerid.sp.kit.model_base import Moment, SPBase

HASH_TEXT = 44
"""A SHA-256 hash as base64url without padding: 43 characters."""


class WitnessedCheckpoint(SPBase):
    """C2SP tlog-witness: a checkpoint of DOV's log the kit verified and cosigned, with the
    consistency proof (RFC 9162 §2.1.4) from the checkpoint held before it."""

    __tablename__ = "sp_tlog_checkpoint"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    origin: Mapped[str] = mapped_column(String(255))
    root: Mapped[str] = mapped_column(String(HASH_TEXT))
    note: Mapped[str] = mapped_column(Text)  # DOV's signed note, as fetched
    fetched_at: Mapped[dt.datetime] = mapped_column(Moment)
    seen_at: Mapped[dt.datetime] = mapped_column(Moment)  # last fetched as DOV's newest
    from_size: Mapped[int | None] = mapped_column(BigInteger)
    consistency_proof: Mapped[str | None] = mapped_column(Text)  # JSON list, base64url
    cosignature: Mapped[str | None] = mapped_column(Text)  # our C2SP cosignature line
    cosigned_at: Mapped[dt.datetime | None] = mapped_column(Moment)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(Moment)  # DOV accepted it
    delivery_error: Mapped[str | None] = mapped_column(String(400))


class ReceivedDisclosure(SPBase):
    """Issue 12 §3: one disclosure the kit received (token response or userinfo), the leaf
    hash DOV named for it, and once verified its inclusion proof (RFC 9162 §2.1.3). Not the
    entry itself: it names the pupil by a pseudonym DOV can tie to the pupil, so kept
    entries would add up to a history of a pupil's logins (art. 3); DOV serves it by its
    index."""

    __tablename__ = "sp_tlog_receipt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    leaf_hash: Mapped[str | None] = mapped_column(String(HASH_TEXT), index=True, unique=True)
    """One leaf, one disclosure: a leaf DOV names a second time is kept on the later
    disclosure's ``duplicate_of`` instead (RFC 9162 §2.1.1: one entry, one leaf)."""
    duplicate_of: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[dt.datetime] = mapped_column(Moment, index=True)
    client_id: Mapped[str] = mapped_column(String(255))
    endpoint: Mapped[str] = mapped_column(String(20))
    claims: Mapped[str] = mapped_column(String(2000))  # claim names, sorted, space-separated
    status: Mapped[str] = mapped_column(String(12), index=True)  # pending|proven|alert kind
    log_index: Mapped[int | None] = mapped_column(BigInteger)
    tree_size: Mapped[int | None] = mapped_column(BigInteger)
    proof: Mapped[str | None] = mapped_column(Text)  # JSON list, base64url
    checked_at: Mapped[dt.datetime | None] = mapped_column(Moment)
    alert_id: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(400))  # DOV's last refusal, if any


class LogAlert(SPBase):
    """Issue 12 §3, art. 9: an inconsistent checkpoint, a bad signature, a missing or
    differing entry; kept with its evidence, sent to both DPOs. One row per distinct problem
    (``fingerprint``); a problem seen again only counts."""

    __tablename__ = "sp_tlog_alert"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    raised_at: Mapped[dt.datetime] = mapped_column(Moment)
    last_seen_at: Mapped[dt.datetime] = mapped_column(Moment)
    times_seen: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text)  # JSON: notes, proofs, entries
    dpo_mailed_at: Mapped[dt.datetime | None] = mapped_column(Moment)
    notice_id: Mapped[int | None] = mapped_column(Integer)  # sp_notice.id sent to DOV
    delivery_error: Mapped[str | None] = mapped_column(String(400))


class WitnessState(SPBase):
    """Who runs a witness round now, and how the last one went (one row, id 1)."""

    __tablename__ = "sp_tlog_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    lease_holder: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[dt.datetime | None] = mapped_column(Moment)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(Moment)
    last_success_at: Mapped[dt.datetime | None] = mapped_column(Moment)
    last_error: Mapped[str | None] = mapped_column(String(400))
    held_size: Mapped[int | None] = mapped_column(BigInteger)
    """The newest held checkpoint's size: a round keeps a checkpoint only by moving it from
    the size its consistency proof started at (compare-and-set)."""
    silent_since: Mapped[dt.datetime | None] = mapped_column(Moment)
    """Since when DOV's log has not answered a round in full (None: it did last round)."""
    refused: Mapped[str | None] = mapped_column(String(100))
    """``FIRST SECOND``: the consistency proof DOV refused once (a second refusal alerts)."""
