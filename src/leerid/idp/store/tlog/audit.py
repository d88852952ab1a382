"""``leerid log verify``: the whole log recomputed from the stored entries (issue 12 §4).

The entries are streamed in ``idx`` order, in chunks that end at every checkpoint's size.
For each entry: its index is the next one (no gap, none twice), its body hashes to its
stored leaf hash (RFC 9162 §2.1.1), and that hash is the tree's (level-0 tile). From the
recomputed leaf hashes the tiles are built again (``tiles.append_leaves``) and compared with
the stored ones (C2SP tlog-tiles: a stored partial tile may have grown since, its prefix
must agree); at each checkpoint's size the recomputed root must be the stored root and the
note's, and the note's signature must verify with the log's key. The first problem found
stops the audit and is named: an index, a checkpoint size or a tile, and what differs.

The database may be written meanwhile: only the entries and checkpoints of the size
integrated when the audit starts are checked.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, func, select

from leerid.idp.store.tlog.tables import TlogCheckpoint, TlogEntry, TlogState
from leerid.idp.store.tlog.tree import read_tiles
from leerid.transparency.checkpoint import open_checkpoint
from leerid.transparency.note import NoteError, Verifier
from leerid.transparency.rfc9162 import HASH_SIZE, leaf_hash
from leerid.transparency.tiles import (
    TILE_HEIGHT,
    TILE_WIDTH,
    TiledTree,
    TileKey,
    append_leaves,
    tile_path,
)

__all__ = ["Audit", "LogProblem", "audit_log"]

_CHUNK = 4096


@dataclass(frozen=True)
class LogProblem:
    """The first thing found wrong: where (an index, a checkpoint, a tile) and what."""

    where: str
    what: str
    index: int | None = None
    checkpoint: int | None = None

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


@dataclass
class Audit:
    """What ``audit_log`` checked, and the first problem (None: the log is sound)."""

    size: int = 0
    entries: int = 0
    checkpoints: int = 0
    tiles: int = 0
    problem: LogProblem | None = None
    origin: str | None = field(default=None)


class _FoundError(Exception):
    def __init__(self, problem: LogProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def _checkpoints(conn: Connection, size: int) -> Iterator[tuple[int, bytes, str]]:
    """The stored checkpoints up to ``size``, by size, a page at a time, then ``(size, b"",
    "")`` to close the stream."""
    after = -1
    while True:
        page = conn.execute(
            select(TlogCheckpoint.size, TlogCheckpoint.root, TlogCheckpoint.note)
            .where(TlogCheckpoint.size > after, TlogCheckpoint.size <= size)
            .order_by(TlogCheckpoint.size)
            .limit(1000)
        ).all()
        for row in page:
            yield int(row.size), bytes(row.root), str(row.note)
        if len(page) < 1000:
            yield size, b"", ""
            return
        after = int(page[-1].size)


def _integrated_size(conn: Connection) -> int:
    """The integrated size; a checkpoint beyond it is a problem. The newest checkpoint is
    read first: the state only grows, so a checkpoint signed meanwhile is not taken for one."""
    newest = conn.execute(select(func.max(TlogCheckpoint.size))).scalar()
    size = int(conn.execute(select(TlogState.size).where(TlogState.id == 1)).scalar_one())
    if newest is not None and newest > size:
        what = f"is beyond the integrated tree ({size} entries)"
        raise _FoundError(LogProblem(f"checkpoint {newest}", what, checkpoint=int(newest)))
    return size


def _tile_problem(key: TileKey, computed: bytes, stored: bytes | None) -> LogProblem:
    """Where a stored tile differs from the recomputed one: the first differing hash."""
    level, number = key
    if stored is None:
        return LogProblem(f"tile {tile_path(level, number)}", "is missing from idp_tlog_tile")
    at = next(
        (
            i
            for i in range(0, len(computed), HASH_SIZE)
            if computed[i : i + HASH_SIZE] != stored[i : i + HASH_SIZE]
        ),
        min(len(computed), len(stored)),
    )
    first = (number * TILE_WIDTH + at // HASH_SIZE) << (TILE_HEIGHT * level)
    span = 1 << (TILE_HEIGHT * level)
    what = f"hash {at // HASH_SIZE} differs from the one recomputed from the entries"
    if level == 0:
        return LogProblem(f"index {first}", f"tile {tile_path(level, number)}: {what}", first)
    return LogProblem(
        f"tile {tile_path(level, number)}",
        f"{what} (entries {first} to {first + span - 1})",
        first,
    )


def _compare_tiles(conn: Connection, tiles: Mapping[TileKey, bytes]) -> None:
    """Recomputed tiles against the stored ones (a stored tile may have grown since)."""
    stored = read_tiles(conn, set(tiles))
    for key in sorted(tiles, key=lambda k: (k[1] << (TILE_HEIGHT * k[0]), k[0])):
        held = stored.get(key)
        if held is None or held[: len(tiles[key])] != tiles[key]:
            raise _FoundError(_tile_problem(key, tiles[key], held))


def _check_entries(
    conn: Connection, start: int, rows: Sequence[tuple[int, bytes, bytes]]
) -> list[bytes]:
    """Indexes consecutive from ``start``, each body hashing to its stored leaf hash; the
    recomputed leaf hashes."""
    leaves = []
    for offset, (idx, stored_leaf, body) in enumerate(rows):
        expected = start + offset
        if idx != expected:
            what = f"no entry has this index (the next stored one has index {idx})"
            raise _FoundError(LogProblem(f"index {expected}", what, expected))
        computed = leaf_hash(body)
        if computed != stored_leaf:
            level0 = read_tiles(conn, {(0, idx // TILE_WIDTH)}).get((0, idx // TILE_WIDTH), b"")
            at = (idx % TILE_WIDTH) * HASH_SIZE
            in_tree = level0[at : at + HASH_SIZE]
            what = (
                "the entry's body was changed: it no longer hashes to its leaf hash"
                if stored_leaf == in_tree
                else "the stored leaf hash was changed: it is not the hash of the body"
                if computed == in_tree
                else "the body does not hash to the stored leaf hash, nor to the tree's"
            )
            raise _FoundError(LogProblem(f"index {idx}", what, idx))
        leaves.append(computed)
    return leaves


def _check_checkpoint(size: int, root: bytes, note: str, computed: bytes, key: Verifier) -> str:
    """One stored checkpoint against the recomputed root; its origin."""
    where = f"checkpoint {size}"
    try:
        checkpoint, _ = open_checkpoint(note, key)
    except NoteError as exc:
        what = f"its note does not verify with the log's key: {exc.message}"
        raise _FoundError(LogProblem(where, what, checkpoint=size)) from None
    if checkpoint.size != size or checkpoint.root != root:
        what = "the stored size or root is not the one in its signed note"
        raise _FoundError(LogProblem(where, what, checkpoint=size))
    if root != computed:
        what = "its root is not the root recomputed from the entries at that size"
        raise _FoundError(LogProblem(where, what, checkpoint=size))
    return checkpoint.origin


def _entry_rows(conn: Connection, start: int, end: int) -> list[tuple[int, bytes, bytes]]:
    rows = conn.execute(
        select(TlogEntry.idx, TlogEntry.leaf_hash, TlogEntry.body)
        .where(TlogEntry.idx >= start, TlogEntry.idx < end)
        .order_by(TlogEntry.idx)
    )
    return [(int(i or 0), bytes(leaf), bytes(body)) for i, leaf, body in rows]  # never NULL


def audit_log(conn: Connection, key: Verifier) -> Audit:
    """Recompute the log from its entries and compare everything stored (module docstring);
    ``key`` verifies the checkpoints' signatures."""
    audit = Audit()
    edge: dict[TileKey, bytes] = {}
    position = 0
    try:
        audit.size = _integrated_size(conn)
        for stop, root, note in _checkpoints(conn, audit.size):
            while position < stop:
                end = min(stop, position + _CHUNK)
                leaves = _check_entries(conn, position, _entry_rows(conn, position, end))
                if len(leaves) < end - position:
                    missing = position + len(leaves)
                    what = f"no entry has this index, though the tree holds {audit.size}"
                    raise _FoundError(LogProblem(f"index {missing}", what, missing))
                changed, computed = append_leaves(position, edge, leaves)
                full = {k: v for k, v in changed.items() if len(v) == TILE_WIDTH * HASH_SIZE}
                _compare_tiles(conn, full)
                audit.tiles += len(full)
                edge = {k: v for k, v in {**edge, **changed}.items() if k not in full}
                position, audit.entries = end, end
            if note:
                computed = _root(position, edge)
                audit.origin = _check_checkpoint(stop, root, note, computed, key)
                audit.checkpoints += 1
        _compare_tiles(conn, edge)
        audit.tiles += len(edge)
    except _FoundError as found:
        audit.problem = found.problem
    return audit


def _root(size: int, edge: Mapping[TileKey, bytes]) -> bytes:
    """The root of the recomputed tree of ``size`` entries from its right-edge tiles."""
    return TiledTree(size, lambda keys: {k: edge[k] for k in keys if k in edge}).root()
