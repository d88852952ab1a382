"""C2SP tlog-tiles: the Merkle tree (RFC 9162 §2.1) stored as tiles of height 8.

A tile at level L, index N holds up to 256 consecutive hashes of the tree at height 8·L:
``MTH(D[(N·256 + i)·256^L : (N·256 + i + 1)·256^L])`` for i = 0..255 (C2SP tlog-tiles,
"Merkle Tree"). Level 0 holds leaf hashes; each hash at level L+1 is the root of a *full*
tile at level L. The rightmost tile of a level is *partial* (1..255 hashes) and grows as
entries arrive; the provider stores it as one row whose bytes grow.

Every hash of the tree is either a stored tile hash or the root of at most 128 consecutive
hashes of one tile (the heights between two stored levels are never stored, C2SP says to
recompute them). ``TiledTree`` therefore plans, for a root or a proof, the *perfect*
subtrees it needs, reads every tile they lie in with one call of ``read``, and hashes only
those subtrees' 2^r bottom-row hashes: at ten million entries an inclusion proof reads at
most four tiles and computes a few hundred SHA-256 hashes, never the tree.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence

from leerid.transparency.rfc9162 import EMPTY_ROOT, HASH_SIZE, ProofError

__all__ = [
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "ReadTiles",
    "TileKey",
    "TiledTree",
    "append_leaves",
    "right_edge",
    "tile_path",
    "tile_width",
]

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
_TILE_BYTES = TILE_WIDTH * HASH_SIZE

TileKey = tuple[int, int]
"""(level, index) of a tile, as in the C2SP path ``tile/<level>/<index>``."""

ReadTiles = Callable[[set[TileKey]], Mapping[TileKey, bytes]]
"""Returns the stored bytes of the asked tiles; a stored tile may be wider than needed."""

_Node = tuple[int, int]
"""A perfect subtree: (height h, index i), covering leaves [i·2^h, (i+1)·2^h)."""

_sha256 = hashlib.sha256


def tile_path(level: int, index: int, width: int | None = None) -> str:
    """C2SP tlog-tiles: ``tile/<L>/<N>[.p/<W>]``, N in 3-digit elements, all but the last
    prefixed with ``x`` (1234067 → ``x001/x234/067``); ``.p/<W>`` for a partial width."""
    if not 0 <= level <= 63 or index < 0:
        raise ValueError(f"tile level {level} (0..63) and index {index} (≥ 0) out of range")
    if width is not None and not 1 <= width <= TILE_WIDTH:
        raise ValueError(f"tile width {width} is not between 1 and {TILE_WIDTH}")
    digits = f"{index:d}"
    digits = digits.zfill(-(-len(digits) // 3) * 3)
    elements = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    number = "/".join([*("x" + e for e in elements[:-1]), elements[-1]])
    partial = f".p/{width}" if width is not None and width < TILE_WIDTH else ""
    return f"tile/{level}/{number}{partial}"


def tile_width(size: int, level: int, index: int) -> int:
    """How many hashes tile (level, index) holds in a tree of ``size`` entries (0..256)."""
    count = size >> (TILE_HEIGHT * level)
    return max(0, min(TILE_WIDTH, count - index * TILE_WIDTH))


def right_edge(size: int) -> set[TileKey]:
    """The partial tiles of a tree of ``size`` entries, one per level at most (C2SP: the
    partial tile at level l has ⌊size / 256^l⌋ mod 256 hashes; empty tiles do not exist).
    These are all ``append_leaves`` must read to append and to compute the new root."""
    if size < 0:
        raise ProofError(f"a tree size is not negative; got {size}")
    edge: set[TileKey] = set()
    level, count = 0, size
    while count:
        if count % TILE_WIDTH:
            edge.add((level, count // TILE_WIDTH))
        level, count = level + 1, count // TILE_WIDTH
    return edge


def _hash_row(row: bytes) -> bytes:
    """The root of a perfect subtree whose 2^r bottom hashes are ``row`` (RFC 9162 §2.1.1)."""
    hashes = [row[i : i + HASH_SIZE] for i in range(0, len(row), HASH_SIZE)]
    while len(hashes) > 1:
        hashes = [
            _sha256(b"\x01" + hashes[i] + hashes[i + 1]).digest() for i in range(0, len(hashes), 2)
        ]
    return hashes[0]


@functools.lru_cache(maxsize=256)
def _tile_levels(data: bytes) -> tuple[tuple[bytes, ...], ...]:
    """Every complete node of a tile above its stored row (heights 1..8 within the tile),
    remembered by the tile's content: a tile of a level above 0 or a partial tile is read
    by most proofs, and its bytes say exactly what its nodes are (pure memoisation)."""
    row = [data[i : i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]
    levels: list[tuple[bytes, ...]] = []
    while len(row) > 1:
        row = [_sha256(b"\x01" + row[i] + row[i + 1]).digest() for i in range(0, len(row) - 1, 2)]
        levels.append(tuple(row))
    return tuple(levels)


def _fold(hashes: Sequence[bytes]) -> bytes:
    """RFC 9162 §2.1.1: MTH of a range from its perfect subtrees, left to right (each
    smaller than the one before), combined from the right."""
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = _sha256(b"\x01" + left + result).digest()
    return result


def _perfect_nodes(start: int, end: int) -> list[_Node]:
    """The perfect subtrees MTH(D[start:end]) is made of, left to right, for a range that
    is a node of the RFC 9162 tree (start is a multiple of each subtree's width)."""
    nodes: list[_Node] = []
    while start < end:
        height = (end - start).bit_length() - 1
        nodes.append((height, start >> height))
        start += 1 << height
    return nodes


def _tile_slice(node: _Node) -> tuple[TileKey, int, int]:
    """Where a perfect subtree's bottom row lies: its tile and the hashes [first, last)."""
    height, index = node
    level, rest = divmod(height, TILE_HEIGHT)
    first = index << rest
    offset = first % TILE_WIDTH
    return (level, first // TILE_WIDTH), offset, offset + (1 << rest)


class _Hasher:
    """Hashes of perfect subtrees from the tiles read once for them."""

    def __init__(self, size: int, nodes: Iterable[_Node], read: ReadTiles) -> None:
        needs: dict[TileKey, int] = {}
        for node in nodes:
            key, _, last = _tile_slice(node)
            needs[key] = max(needs.get(key, 0), last)
        stored = read(set(needs)) if needs else {}
        self.tiles: dict[TileKey, bytes] = {}
        for key, width in needs.items():
            data = stored.get(key)
            if data is None or len(data) < width * HASH_SIZE or len(data) % HASH_SIZE:
                held = "is missing" if data is None else f"holds {len(data)} bytes"
                raise ProofError(
                    f"tile {tile_path(*key)} {held}; size {size} needs at least {width} "
                    "hashes of 32 bytes: the stored tree is incomplete (check it with "
                    "'leerid log verify')"
                )
            self.tiles[key] = data
        self.memo: dict[_Node, bytes] = {}

    def node(self, node: _Node) -> bytes:
        """MTH of one perfect subtree: one stored hash, or the root of its 2^r hashes (from
        the remembered nodes of a hot tile: above level 0, or partial)."""
        found = self.memo.get(node)
        if found is None:
            key, first, last = _tile_slice(node)
            data = self.tiles[key]
            rest = node[0] % TILE_HEIGHT
            if rest and (key[0] > 0 or len(data) < _TILE_BYTES):
                found = _tile_levels(data)[rest - 1][first >> rest]
            else:
                found = _hash_row(data[first * HASH_SIZE : last * HASH_SIZE])
            self.memo[node] = found
        return found

    def range(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for a node of the tree."""
        return _fold([self.node(n) for n in _perfect_nodes(start, end)])


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """RFC 9162 §2.1.3.1: the ranges whose MTH make PATH(index, D[size]), nearest first."""
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        k = 1 << ((end - start - 1).bit_length() - 1)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    return ranges[::-1]


def _consistency_ranges(old_size: int, size: int) -> list[tuple[int, int]]:
    """RFC 9162 §2.1.4.1: the ranges whose MTH make PROOF(old_size, D[size]), in order."""
    ranges: list[tuple[int, int]] = []
    if old_size == 0:
        return ranges
    start, end, m, whole = 0, size, old_size, True
    while m != end - start:
        k = 1 << ((end - start - 1).bit_length() - 1)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m, whole = start + k, m - k, False
    if not whole:
        ranges.append((start, end))
    return ranges[::-1]


def _nodes_of(ranges: Iterable[tuple[int, int]]) -> set[_Node]:
    return {node for start, end in ranges for node in _perfect_nodes(start, end)}


class TiledTree:
    """The tree of the first ``size`` entries, read from stored tiles through ``read``.

    Each method plans every tile it needs and calls ``read`` once (not at all when it needs
    none); ``ProofError`` names an index or size out of range, or a tile missing."""

    def __init__(self, size: int, read: ReadTiles) -> None:
        if size < 0:
            raise ProofError(f"a tree size is not negative; got {size}")
        self.size = size
        self._read = read

    def _hasher(self, ranges: Sequence[tuple[int, int]]) -> _Hasher:
        return _Hasher(self.size, _nodes_of(ranges), self._read)

    def root(self) -> bytes:
        """RFC 9162 §2.1.1: MTH(D[size])."""
        return self.root_at(self.size)

    def root_at(self, size: int) -> bytes:
        """MTH(D[size]) of an earlier (or this) size, from this tree's tiles."""
        if not 0 <= size <= self.size:
            raise ProofError(f"size {size} is not between 0 and the tree's size {self.size}")
        if size == 0:
            return EMPTY_ROOT
        return self._hasher([(0, size)]).range(0, size)

    def leaf_hash(self, index: int) -> bytes:
        """The leaf hash of entry ``index`` (a level-0 tile hash)."""
        self._check_index(index)
        return self._hasher([(index, index + 1)]).node((0, index))

    def inclusion_proof(self, index: int) -> list[bytes]:
        """RFC 9162 §2.1.3.1: PATH(index, D[size]), nearest sibling first."""
        self._check_index(index)
        ranges = _inclusion_ranges(index, self.size)
        hasher = self._hasher(ranges)
        return [hasher.range(start, end) for start, end in ranges]

    def consistency_proof(self, old_size: int) -> list[bytes]:
        """RFC 9162 §2.1.4.1: PROOF(old_size, D[size]); empty for 0 and for this size."""
        if not 0 <= old_size <= self.size:
            raise ProofError(f"size {old_size} is not between 0 and the tree's size {self.size}")
        ranges = _consistency_ranges(old_size, self.size)
        hasher = self._hasher(ranges)
        return [hasher.range(start, end) for start, end in ranges]

    def _check_index(self, index: int) -> None:
        if not 0 <= index < self.size:
            raise ProofError(f"leaf index {index} is not in a tree of size {self.size}")


def append_leaves(
    size: int, edge: Mapping[TileKey, bytes], leaves: Sequence[bytes]
) -> tuple[dict[TileKey, bytes], bytes]:
    """Append leaf hashes to a tree of ``size`` entries (C2SP tlog-tiles).

    ``edge`` holds the stored bytes of the ``right_edge(size)`` tiles (wider is fine: only
    the hashes of this size are kept). Returns every tile whose content changed, with its
    full new content, and the new root (RFC 9162 §2.1.1). Each tile filled on the way adds
    its root to the level above: hashing is linear in the batch, never in the tree."""
    if size < 0:
        raise ProofError(f"a tree size is not negative; got {size}")
    for position, leaf in enumerate(leaves):
        if len(leaf) != HASH_SIZE:
            raise ProofError(f"leaf hash {position} is {len(leaf)} bytes, not {HASH_SIZE}")
    changed: dict[TileKey, bytes] = {}
    level, count, new = 0, size, list(leaves)
    while new:
        index, width = divmod(count, TILE_WIDTH)
        data = _edge_hashes(edge, (level, index), width, size) + b"".join(new)
        new = []
        for offset in range(0, len(data), _TILE_BYTES):
            tile = data[offset : offset + _TILE_BYTES]
            changed[(level, index + offset // _TILE_BYTES)] = tile
            if len(tile) == _TILE_BYTES:
                new.append(_hash_row(tile))
        level, count = level + 1, index
    new_size = size + len(leaves)
    if new_size == 0:
        return changed, EMPTY_ROOT
    merged = {**edge, **changed}
    tree = TiledTree(new_size, lambda keys: {k: merged[k] for k in keys if k in merged})
    return changed, tree.root()


def _edge_hashes(edge: Mapping[TileKey, bytes], key: TileKey, width: int, size: int) -> bytes:
    """The first ``width`` hashes of a right-edge tile, or a ``ProofError`` saying it is
    missing or too short."""
    if width == 0:
        return b""
    data = edge.get(key)
    if data is None or len(data) < width * HASH_SIZE:
        held = "is missing" if data is None else f"holds {len(data) // HASH_SIZE} hashes"
        raise ProofError(
            f"right-edge tile {tile_path(*key, width)} {held}; appending to size {size} needs "
            f"its first {width} hashes (pass every tile of right_edge({size}))"
        )
    return data[: width * HASH_SIZE]
