"""Micro-benchmark of the transparency log's tiled tree (issue 12: proofs ≤ 2 ms p99 at ten
million entries, including the database read; this measures the part without the read).

Builds a tree of ``--size`` synthetic leaf hashes as C2SP tiles in memory with
``append_leaves`` (batches of 100,000), then times ``TiledTree.inclusion_proof`` and
``consistency_proof`` for random entries and for recent ones (the last 10,000), with the
tiles read from a dict; prints µs per proof (median, p99) and SHA-256 calls per proof, with
the tile-node memo cold (cleared before each proof) and warm.

    .venv/bin/python bench/tlog_tiles.py [--size 10000000] [--proofs 2000]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable, Mapping

from leerid.transparency import tiles
from leerid.transparency.tiles import TiledTree, TileKey, append_leaves, right_edge


def build(size: int) -> dict[TileKey, bytes]:
    store: dict[TileKey, bytes] = {}
    done, batch = 0, 100_000
    started = time.perf_counter()
    while done < size:
        leaves = [i.to_bytes(32, "big") for i in range(done, min(size, done + batch))]
        changed, _ = append_leaves(done, {k: store[k] for k in right_edge(done)}, leaves)
        store.update(changed)
        done += len(leaves)
    seconds = time.perf_counter() - started
    print(f"built {size:,} leaves in {seconds:.1f} s ({size / seconds:,.0f} leaves/s)")
    return store


def measure(label: str, prove: Callable[[int], object], indices: list[int], cold: bool) -> None:
    sha256 = tiles._sha256
    calls = [0]

    def counted(data: bytes = b"") -> object:
        calls[0] += 1
        return sha256(data)

    times, counts = [], []
    for index in indices:
        if cold:
            tiles._tile_levels.cache_clear()
        tiles._sha256 = counted  # type: ignore[assignment]
        calls[0] = 0
        started = time.perf_counter_ns()
        prove(index)
        times.append((time.perf_counter_ns() - started) / 1000)
        counts.append(calls[0])
        tiles._sha256 = sha256
    times.sort()
    counts.sort()
    p99 = int(len(times) * 0.99)
    print(
        f"{label:<44} {times[len(times) // 2]:7.0f} µs median {times[p99]:7.0f} µs p99   "
        f"sha256 {counts[len(counts) // 2]} median {counts[-1]} max"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=10_000_000)
    parser.add_argument("--proofs", type=int, default=2000)
    args = parser.parse_args()
    store = build(args.size)

    def read(keys: set[TileKey]) -> Mapping[TileKey, bytes]:
        return {key: store[key] for key in keys}

    tree = TiledTree(args.size, read)
    chance = random.Random(12)
    anywhere = [chance.randrange(args.size) for _ in range(args.proofs)]
    recent = [args.size - 1 - chance.randrange(min(args.size, 10_000)) for _ in anywhere]
    for cold in (True, False):
        memo = "cold" if cold else "warm"
        measure(f"inclusion, random entry, memo {memo}", tree.inclusion_proof, anywhere, cold)
        measure(f"inclusion, recent entry, memo {memo}", tree.inclusion_proof, recent, cold)
        measure(f"consistency, random size, memo {memo}", tree.consistency_proof, anywhere, cold)


if __name__ == "__main__":
    main()
