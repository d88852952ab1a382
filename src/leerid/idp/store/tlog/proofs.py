"""What DOV's log answers: inclusion and consistency proofs, entries by range, from the store.

RFC 9162 §2.1.3 (inclusion) and §2.1.4 (consistency), computed from the stored tiles
(``tree.stored_tree``), never from the entries. Every size asked for is at most the newest
checkpoint's: a proof is only useful against a root someone can check, and DOV signs the
roots of its checkpoints. Every refusal says what is wrong and what to ask instead:
``LogRequestError`` (HTTP 400) for a question that has no answer, ``NotInCheckpointError`` (404)
for an entry that is not in a checkpoint (yet).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from leerid.errors import LeeridError, NotFoundError
from leerid.idp.store.tlog.tables import TlogEntry
from leerid.idp.store.tlog.tree import newest_checkpoint_size, read_tiles, stored_tree
from leerid.transparency.receipt import b64url
from leerid.transparency.rfc9162 import HASH_SIZE, ProofError
from leerid.transparency.tiles import TILE_HEIGHT, TILE_WIDTH, tile_path

__all__ = [
    "MAX_ENTRIES",
    "Consistency",
    "Inclusion",
    "LogRequestError",
    "NotInCheckpointError",
    "consistency",
    "entries_between",
    "entry_bundle",
    "inclusion_by_hash",
    "inclusion_by_index",
    "tile_hashes",
]

MAX_ENTRIES = 1000
"""Entries per ``/op/v1/log/entries`` answer."""


class LogRequestError(LeeridError):
    """A question about the log that has no answer (HTTP 400): the reason and what to ask."""


class NotInCheckpointError(NotFoundError):
    """An entry that is not in the log's newest checkpoint, or not yet (HTTP 404)."""


@dataclass(frozen=True)
class Inclusion:
    """RFC 9162 §2.1.3: entry ``index`` is in the tree of ``size`` entries."""

    index: int
    size: int
    leaf_hash: bytes
    entry: bytes
    proof: list[bytes]

    def as_json(self) -> dict[str, Any]:
        """The answer of ``/op/v1/log/proof/inclusion`` (hashes and entry in base64url)."""
        return {
            "index": self.index,
            "size": self.size,
            "leaf_hash": b64url(self.leaf_hash),
            "entry": b64url(self.entry),
            "proof": [b64url(h) for h in self.proof],
        }


@dataclass(frozen=True)
class Consistency:
    """RFC 9162 §2.1.4: the tree of ``second`` entries extends the tree of ``first``."""

    first: int
    second: int
    proof: list[bytes]

    def as_json(self) -> dict[str, Any]:
        """The answer of ``/op/v1/log/proof/consistency``."""
        return {
            "first": self.first,
            "second": self.second,
            "proof": [b64url(h) for h in self.proof],
        }


def _tree_size(conn: Connection, size: int | None) -> int:
    """``size``, or the newest checkpoint's when None; refused beyond it."""
    newest = newest_checkpoint_size(conn)
    if size is None:
        return newest
    if size > newest:
        raise LogRequestError(
            f"size {size} is beyond the newest checkpoint ({newest} entries): ask for a size "
            f"of at most {newest}, or leave size out"
        )
    return size


def _proved(conn: Connection, index: int, size: int, leaf: bytes, entry: bytes) -> Inclusion:
    try:
        proof = stored_tree(conn, size).inclusion_proof(index)
    except ProofError as exc:
        raise LogRequestError(exc.message) from None
    return Inclusion(index, size, leaf, entry, proof)


def inclusion_by_index(conn: Connection, index: int, size: int | None = None) -> Inclusion:
    """The entry at ``index`` and its inclusion proof in the tree of ``size`` entries
    (default: the newest checkpoint's)."""
    tree_size = _tree_size(conn, size)
    if index >= tree_size and size is not None:
        raise LogRequestError(
            f"size {size} is smaller than index {index} + 1: a tree holds entries 0 to size "
            f"- 1; ask with a size of at least {index + 1}"
        )
    if index >= tree_size == 0:
        raise LogRequestError(
            "the log has no checkpoint yet: an entry is proved about a second after it "
            "was written; ask again after the first checkpoint"
        )
    if index >= tree_size:
        raise LogRequestError(
            f"index {index} is beyond the newest checkpoint ({tree_size} entries): the "
            f"indexes are 0 to {tree_size - 1}; a newer entry is proved after the next "
            "checkpoint"
        )
    row = conn.execute(
        select(TlogEntry.leaf_hash, TlogEntry.body).where(TlogEntry.idx == index)
    ).one()
    return _proved(conn, index, tree_size, bytes(row.leaf_hash), bytes(row.body))


def inclusion_by_hash(conn: Connection, leaf: bytes, size: int | None = None) -> Inclusion:
    """The entry whose leaf hash is ``leaf`` and its inclusion proof; ``NotInCheckpointError``
    when no such entry is in the tree of ``size`` (default the newest checkpoint's)."""
    tree_size = _tree_size(conn, size)
    row = conn.execute(
        select(TlogEntry.idx, TlogEntry.body)
        .where(TlogEntry.leaf_hash == leaf, TlogEntry.idx.is_not(None))
        .order_by(TlogEntry.idx)
        .limit(1)
    ).first()
    if row is None or row.idx >= tree_size:
        where = "the newest checkpoint" if size is None else f"the tree of {tree_size} entries"
        raise NotInCheckpointError(
            f"no entry with this leaf hash is in {where}: an entry is in a checkpoint about "
            "a second after it was written; ask again after the next checkpoint"
        )
    return _proved(conn, int(row.idx), tree_size, leaf, bytes(row.body))


def consistency(conn: Connection, first: int, second: int | None = None) -> Consistency:
    """RFC 9162 §2.1.4: the proof that the tree of ``second`` entries (default the newest
    checkpoint's) extends the tree of ``first``."""
    tree_size = _tree_size(conn, second)
    if first > tree_size:
        raise LogRequestError(
            f"first ({first}) is larger than second ({tree_size}): a consistency proof goes "
            "from a smaller tree to a larger one; swap them"
        )
    try:
        proof = stored_tree(conn, tree_size).consistency_proof(first)
    except ProofError as exc:
        raise LogRequestError(exc.message) from None
    return Consistency(first, tree_size, proof)


def entries_between(conn: Connection, start: int, end: int) -> list[tuple[int, bytes]]:
    """Issue 12 §2, for auditors: the entries ``start <= index < end`` (at most
    ``MAX_ENTRIES``, all in the newest checkpoint), as (index, entry bytes)."""
    newest = newest_checkpoint_size(conn)
    if end <= start:
        raise LogRequestError(
            f"end ({end}) must be larger than start ({start}): the answer holds the entries "
            "start <= index < end"
        )
    if end - start > MAX_ENTRIES:
        raise LogRequestError(
            f"at most {MAX_ENTRIES} entries per request; ask start={start}&end="
            f"{start + MAX_ENTRIES} and go on from there"
        )
    if end > newest:
        raise LogRequestError(
            f"end ({end}) is beyond the newest checkpoint ({newest} entries): ask for end "
            f"<= {newest}"
        )
    return _entries(conn, start, end)


def _entries(conn: Connection, start: int, end: int) -> list[tuple[int, bytes]]:
    rows = conn.execute(
        select(TlogEntry.idx, TlogEntry.body)
        .where(TlogEntry.idx >= start, TlogEntry.idx < end)
        .order_by(TlogEntry.idx)
    )
    return [(int(idx or 0), bytes(body)) for idx, body in rows]  # idx >= start: never NULL


def _served_width(conn: Connection, level: int, index: int, width: int | None) -> int:
    """The hashes (or entries) a tile request may be answered with: only what lies in the
    newest checkpoint's tree (C2SP tlog-tiles: tiles for sizes a checkpoint was made for)."""
    newest = newest_checkpoint_size(conn)
    available = min(TILE_WIDTH, max(0, (newest >> (TILE_HEIGHT * level)) - index * TILE_WIDTH))
    wanted = TILE_WIDTH if width is None else width
    if wanted > available:
        raise NotInCheckpointError(
            f"{tile_path(level, index, width)} is not in the newest checkpoint ({newest} "
            f"entries; this tile has {available} hashes in it): ask for a width of at most "
            f"{available}, or again after a later checkpoint"
        )
    return wanted


def tile_hashes(conn: Connection, level: int, index: int, width: int | None) -> bytes:
    """C2SP tlog-tiles: the tile's first ``width`` hashes (all 256 when None); a partial
    tile is a prefix of the stored row."""
    wanted = _served_width(conn, level, index, width)
    stored = read_tiles(conn, {(level, index)}).get((level, index), b"")
    return stored[: wanted * HASH_SIZE]


def entry_bundle(conn: Connection, index: int, width: int | None) -> bytes:
    """C2SP tlog-tiles "Log entries": the entries of level-0 tile ``index``, each prefixed
    with its length as a big-endian uint16."""
    wanted = _served_width(conn, 0, index, width)
    first = index * TILE_WIDTH
    return b"".join(
        len(body).to_bytes(2, "big") + body for _, body in _entries(conn, first, first + wanted)
    )
