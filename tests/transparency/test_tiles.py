"""C2SP tlog-tiles: a tree built by appending batches to stored tiles gives the reference
tree's root and proofs (RFC 9162 §2.1), reading each tile set once."""

from __future__ import annotations

import itertools
from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymerkle import InmemoryTree  # type: ignore[import-untyped]

from leerid.transparency.rfc9162 import (
    EMPTY_ROOT,
    ProofError,
    consistency_path,
    inclusion_path,
    leaf_hash,
    root_from_leaves,
    verify_consistency,
    verify_inclusion,
)
from leerid.transparency.tiles import (
    TILE_HEIGHT,
    TILE_WIDTH,
    TiledTree,
    TileKey,
    append_leaves,
    right_edge,
    tile_path,
    tile_width,
)


class TileStore:
    """Tiles in a dict, as the database holds them: a partial tile is overwritten as it
    grows. Counts the calls of ``read``."""

    def __init__(self) -> None:
        self.tiles: dict[TileKey, bytes] = {}
        self.size = 0
        self.reads: list[set[TileKey]] = []

    def read(self, keys: set[TileKey]) -> Mapping[TileKey, bytes]:
        self.reads.append(set(keys))
        return {key: self.tiles[key] for key in keys if key in self.tiles}

    def append(self, leaves: list[bytes]) -> bytes:
        edge = {key: self.tiles[key] for key in right_edge(self.size)}
        changed, root = append_leaves(self.size, edge, leaves)
        self.tiles.update(changed)
        self.size += len(leaves)
        return root

    def tree(self, size: int | None = None) -> TiledTree:
        return TiledTree(self.size if size is None else size, self.read)


def cheap_leaves(start: int, end: int) -> list[bytes]:
    """Distinct 32-byte leaf hashes without hashing (for sizes of 65,537)."""
    return [i.to_bytes(32, "big") for i in range(start, end)]


def entry_leaves(size: int) -> list[bytes]:
    return [leaf_hash(b"entry %d" % i) for i in range(size)]


def split(total: int, cuts: list[int]) -> list[tuple[int, int]]:
    """The batches [a, b) that cut ``range(total)`` at ``cuts``."""
    points = sorted({0, total, *(c for c in cuts if 0 < c < total)})
    return list(itertools.pairwise(points))


@settings(max_examples=60, deadline=None)
@given(size=st.integers(0, 2000), cuts=st.lists(st.integers(0, 2000), max_size=8))
def test_appended_batches_give_the_reference_root(size: int, cuts: list[int]) -> None:
    leaves = entry_leaves(size)
    store = TileStore()
    for start, end in split(size, cuts):
        root = store.append(leaves[start:end])
        assert root == root_from_leaves(leaves[:end])
    assert store.tree().root() == root_from_leaves(leaves)
    oracle = InmemoryTree(algorithm="sha256")
    for i in range(size):
        oracle.append_entry(b"entry %d" % i)
    assert store.tree().root() == (oracle.get_root(size) if size else EMPTY_ROOT)
    assert set(store.tiles) == _tiles_of(size)


def _tiles_of(size: int) -> set[TileKey]:
    """Every tile a tree of ``size`` entries has (C2SP: empty tiles do not exist)."""
    keys: set[TileKey] = set()
    level = 0
    while size >> (TILE_HEIGHT * level):
        count = size >> (TILE_HEIGHT * level)
        keys |= {(level, i) for i in range(-(-count // TILE_WIDTH))}
        level += 1
    return keys


@settings(max_examples=60, deadline=None)
@given(size=st.integers(1, 2000), cut=st.integers(0, 2000), data=st.data())
def test_tiled_proofs_equal_the_reference_and_verify(
    size: int, cut: int, data: st.DataObject
) -> None:
    leaves = entry_leaves(size)
    store = TileStore()
    store.append(leaves[: min(cut, size)])
    store.append(leaves[min(cut, size) :])
    tree = store.tree()
    root = tree.root()
    index = data.draw(st.integers(0, size - 1), label="index")
    proof = tree.inclusion_proof(index)
    assert proof == inclusion_path(index, leaves)
    verify_inclusion(leaves[index], index, size, proof, root)
    assert tree.leaf_hash(index) == leaves[index]
    old = data.draw(st.integers(0, size), label="old")
    assert tree.root_at(old) == root_from_leaves(leaves[:old])
    consistency = tree.consistency_proof(old)
    assert consistency == consistency_path(old, leaves)
    verify_consistency(old, size, tree.root_at(old), root, consistency)


@settings(max_examples=30, deadline=None)
@given(size=st.integers(1, 1500), data=st.data())
def test_an_older_size_reads_wider_tiles(size: int, data: st.DataObject) -> None:
    """The store has grown past ``older``: its partial tiles are wider than ``older`` needs."""
    leaves = entry_leaves(size)
    store = TileStore()
    store.append(leaves)
    older = data.draw(st.integers(1, size), label="older")
    tree = store.tree(older)
    assert tree.root() == root_from_leaves(leaves[:older])
    index = data.draw(st.integers(0, older - 1), label="index")
    assert tree.inclusion_proof(index) == inclusion_path(index, leaves[:older])
    first = data.draw(st.integers(0, older), label="first")
    assert tree.consistency_proof(first) == consistency_path(first, leaves[:older])
    edge = {key: store.tiles[key] for key in right_edge(older)}  # wider than `older` needs
    changed, root = append_leaves(older, edge, leaves[older:])
    assert root == root_from_leaves(leaves)
    assert all(store.tiles[key] == content for key, content in changed.items())


@pytest.mark.parametrize("size", [255, 256, 257, 65535, 65536, 65537])
def test_sizes_at_tile_boundaries(size: int) -> None:
    leaves = cheap_leaves(0, size)
    store = TileStore()
    store.append(leaves[: size - 3])
    for leaf in leaves[size - 3 :]:
        store.append([leaf])
    tree = store.tree()
    root = tree.root()
    assert root == root_from_leaves(leaves)
    for index in sorted({0, 254, 255, 256, size // 2, size - 2, size - 1} - {size, size + 1}):
        proof = tree.inclusion_proof(index)
        assert proof == inclusion_path(index, leaves)
        verify_inclusion(leaves[index], index, size, proof, root)
    for old in sorted({1, 255, 256, 257, size - 1} - {size, size + 1, size + 2}):
        proof = tree.consistency_proof(old)
        assert proof == consistency_path(old, leaves)
        verify_consistency(old, size, root_from_leaves(leaves[:old]), root, proof)


def test_each_method_reads_once_and_only_the_tiles_it_needs() -> None:
    store = TileStore()
    store.append(cheap_leaves(0, 70000))
    tree = store.tree()
    for call in (
        tree.root,
        lambda: tree.root_at(1000),
        lambda: tree.leaf_hash(69999),
        lambda: tree.inclusion_proof(12345),
        lambda: tree.consistency_proof(4321),
    ):
        store.reads.clear()
        call()
        assert len(store.reads) == 1
        assert len(store.reads[0]) <= 4
    assert store.reads[0] <= {(0, 16), (0, 273), (1, 0), (1, 1), (2, 0)}
    store.reads.clear()
    assert TiledTree(0, store.read).root() == EMPTY_ROOT
    assert store.reads == []  # nothing to read


def test_the_right_edge_is_the_partial_tiles() -> None:
    """C2SP's example: size 70,000 has partial tiles 0/273 (112), 1/1 (17) and 2/0 (1)."""
    assert right_edge(70000) == {(0, 273), (1, 1), (2, 0)}
    assert [tile_width(70000, *key) for key in [(0, 273), (1, 1), (2, 0), (0, 272)]] == [
        112,
        17,
        1,
        256,
    ]
    assert right_edge(256) == {(1, 0)}
    assert right_edge(0) == set()
    assert right_edge(65536) == {(2, 0)}


def test_tile_paths_follow_c2sp() -> None:
    assert tile_path(0, 1234067) == "tile/0/x001/x234/067"
    assert tile_path(0, 5, 17) == "tile/0/005.p/17"
    assert tile_path(2, 1000, 256) == "tile/2/x001/000"
    assert tile_path(1, 0) == "tile/1/000"
    for bad in [(-1, 0, None), (64, 0, None), (0, -1, None), (0, 0, 0), (0, 0, 257)]:
        with pytest.raises(ValueError):
            tile_path(*bad)


def test_missing_or_short_tiles_and_bad_arguments_are_refused_with_the_reason() -> None:
    store = TileStore()
    store.append(cheap_leaves(0, 300))
    tree = store.tree()
    with pytest.raises(ProofError, match="leaf index 300 is not in a tree of size 300"):
        tree.inclusion_proof(300)
    with pytest.raises(ProofError, match="size 301 is not between 0 and the tree's size 300"):
        tree.consistency_proof(301)
    with pytest.raises(ProofError, match="size -1"):
        tree.root_at(-1)
    partial = store.tiles[(0, 1)]
    store.tiles[(0, 1)] = partial[:64]
    with pytest.raises(ProofError, match=r"tile tile/0/001 holds 64 bytes; size 300 needs"):
        tree.root()
    store.tiles[(0, 1)] = partial
    del store.tiles[(1, 0)]
    with pytest.raises(ProofError, match="tile/1/000 is missing"):
        tree.inclusion_proof(280)
    with pytest.raises(ProofError, match=r"right-edge tile tile/0/001.p/44 is missing"):
        append_leaves(300, {}, cheap_leaves(300, 301))
    with pytest.raises(ProofError, match="leaf hash 1 is 3 bytes"):
        append_leaves(0, {}, [b"\x00" * 32, b"abc"])


def test_appending_nothing_keeps_the_root() -> None:
    store = TileStore()
    root = store.append(cheap_leaves(0, 1000))
    assert store.append([]) == root
    assert append_leaves(0, {}, []) == ({}, EMPTY_ROOT)
