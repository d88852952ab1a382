"""Issue 12 §2: DOV's signed checkpoints (C2SP tlog-checkpoint in a C2SP signed note).

The log key is the server secret ``tlog-signing`` (32 random bytes made by the first node
that needs it, shared by all nodes through the database) used as an Ed25519 private seed;
its key name is the log's origin (C2SP tlog-checkpoint: "the origin line … SHOULD be the
key name"). A checkpoint body is ``origin\\nsize\\nbase64(root)\\n``. Every checkpoint is
stored (``idp_tlog_checkpoint``), with DOV's signature line only; the witnesses'
cosignatures (C2SP tlog-cosignature) are kept apart and added when a note is served
(``cosigned_note``): at most ``MAX_COSIGNATURES``, so that a note never holds more than the
16 signatures every C2SP signed-note verifier must accept.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, Engine, Row, insert, select

from leerid.errors import ConfigurationError
from leerid.idp.store.server_secret import load_server_secret
from leerid.idp.store.tlog.tables import TlogCheckpoint, TlogCosignature
from leerid.transparency.checkpoint import Checkpoint, sign_checkpoint
from leerid.transparency.note import MAX_SIGNATURES, Ed25519Signer, Note, Signature

__all__ = [
    "MAX_COSIGNATURES",
    "SIGNING_SECRET",
    "ReceivedCosignature",
    "StoredCheckpoint",
    "aware",
    "checkpoint_at",
    "cosignatures_of",
    "cosigned_note",
    "due_checkpoint",
    "log_origin",
    "log_signer",
    "newest_checkpoint",
    "store_checkpoint",
]

SIGNING_SECRET = "tlog-signing"  # noqa: S105 - the name of a secret, not one
"""The name of the log key's seed among the provider's server secrets."""
MAX_COSIGNATURES = MAX_SIGNATURES - 1
"""C2SP signed-note: a verifier MUST accept 16 signatures and MAY refuse more; DOV's own
line is one, so a served note carries at most 15 cosignatures."""


@dataclass(frozen=True)
class StoredCheckpoint:
    """A checkpoint DOV signed: its size, root, note (DOV's signature only) and time."""

    size: int
    root: bytes
    note: str
    signed_at: dt.datetime

    @property
    def origin(self) -> str:
        """The note's first line (C2SP tlog-checkpoint)."""
        return self.note.split("\n", 1)[0]


def aware(moment: dt.datetime) -> dt.datetime:
    """A stored time as UTC (SQLite gives it back without its zone)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def log_signer(engine: Engine, origin: str) -> Ed25519Signer:
    """Issue 12 §2: the log's Ed25519 key (seed: server secret ``tlog-signing``), named
    ``origin``."""
    seed = load_server_secret(engine, SIGNING_SECRET)
    return Ed25519Signer(origin, Ed25519PrivateKey.from_private_bytes(seed[:32]))


_COLUMNS = (TlogCheckpoint.size, TlogCheckpoint.root, TlogCheckpoint.note, TlogCheckpoint.signed_at)


def _stored(row: Row[int, bytes, str, dt.datetime]) -> StoredCheckpoint:
    size, root, note, signed_at = row
    return StoredCheckpoint(int(size), bytes(root), str(note), aware(signed_at))


def newest_checkpoint(conn: Connection) -> StoredCheckpoint | None:
    """The newest checkpoint DOV signed (None before the first)."""
    row = conn.execute(select(*_COLUMNS).order_by(TlogCheckpoint.size.desc()).limit(1)).first()
    return None if row is None else _stored(row)


def checkpoint_at(conn: Connection, size: int) -> StoredCheckpoint | None:
    """The checkpoint of ``size`` entries, if DOV signed one."""
    row = conn.execute(select(*_COLUMNS).where(TlogCheckpoint.size == size)).first()
    return None if row is None else _stored(row)


def due_checkpoint(conn: Connection, size: int, now: dt.datetime, every: float) -> bool:
    """Issue 12 §2: a checkpoint is due when the tree grew past the newest one and that one
    is at least ``every`` seconds old (half a round of slack for the loop's timer)."""
    newest = newest_checkpoint(conn)
    if newest is None:
        return size > 0
    if size <= newest.size:
        return False
    return (now - newest.signed_at).total_seconds() >= every * 0.5


def store_checkpoint(
    conn: Connection, signer: Ed25519Signer, size: int, root: bytes, now: dt.datetime
) -> str:
    """Sign the checkpoint of ``size`` and ``root`` and store it; the note's text."""
    note = sign_checkpoint(Checkpoint(signer.name, size, root), signer)
    conn.execute(insert(TlogCheckpoint).values(size=size, root=root, note=note, signed_at=now))
    return note


@dataclass(frozen=True)
class ReceivedCosignature:
    """A witness's cosignature of a checkpoint: its line, its time (C2SP tlog-cosignature,
    seconds since the epoch) and when DOV received it."""

    witness: str
    line: str
    timestamp: int
    received_at: dt.datetime


def cosignatures_of(conn: Connection, size: int) -> list[ReceivedCosignature]:
    """The cosignatures received for the checkpoint of ``size``, by witness name."""
    rows = conn.execute(
        select(
            TlogCosignature.witness,
            TlogCosignature.line,
            TlogCosignature.timestamp,
            TlogCosignature.received_at,
        )
        .where(TlogCosignature.size == size)
        .order_by(TlogCosignature.witness)
    )
    return [ReceivedCosignature(w, line, int(t), aware(at)) for w, line, t, at in rows]


def cosigned_note(conn: Connection, size: int | None = None) -> str | None:
    """C2SP tlog-cosignature: the note of checkpoint ``size`` (default the newest) with DOV's
    signature and the cosignatures received for it, at most ``MAX_COSIGNATURES`` (C2SP
    signed-note: 16 signatures in all), the oldest received first (ties by witness name):
    a witness that cosigned keeps its place; None when there is no such checkpoint."""
    stored = newest_checkpoint(conn) if size is None else checkpoint_at(conn, size)
    if stored is None:
        return None
    note = Note.parse(stored.note)
    received = sorted(cosignatures_of(conn, stored.size), key=lambda c: (c.received_at, c.witness))
    extra = [Signature.parse_line(c.line) for c in received[:MAX_COSIGNATURES]]
    return Note(note.text, (*note.signatures, *extra)).render()


def log_origin(engine: Engine, configured: str, *, explicit: bool) -> str:
    """The log's origin: the stored checkpoints' (a log's origin never changes, even when
    the issuer it was derived from does) or, before the first, ``configured``. A
    ``configured`` origin given on purpose (``explicit``: ``LEERID_TLOG_ORIGIN``) that is not
    the stored one is refused: signing under it would start another log."""
    with engine.connect() as conn:
        newest = newest_checkpoint(conn)
    if newest is None or newest.origin == configured:
        return configured
    if explicit:
        raise ConfigurationError(
            f"this node's log origin is {configured!r} but the stored checkpoints are of "
            f"{newest.origin!r}; a log's origin never changes: set "
            f"LEERID_TLOG_ORIGIN={newest.origin} (or start a new database for a new log)"
        )
    return newest.origin
