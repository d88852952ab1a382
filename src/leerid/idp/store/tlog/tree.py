"""The stored tree: C2SP tlog-tiles read from ``idp_tlog_tile`` in one query per proof.

Issue 12 §2: proofs for a tree of 100 million entries cost a few reads, never a
recomputation. ``TiledTree`` (``leerid.transparency.tiles``) plans every tile a root or a
proof needs and asks for them at once; ``read_tiles`` fetches them in ONE ``SELECT … WHERE
(level, idx) IN (…)``. A stored tile may be wider than an older size needs: the hashes of a
tile only ever grow at its end (C2SP tlog-tiles, "Partial Tiles"), so its prefix is the
partial tile of that size.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Connection, select, tuple_

from leerid.idp.store.tlog.tables import TlogCheckpoint, TlogTile
from leerid.transparency.tiles import TiledTree, TileKey

__all__ = ["newest_checkpoint_size", "read_tiles", "stored_tree"]


def read_tiles(conn: Connection, keys: set[TileKey]) -> Mapping[TileKey, bytes]:
    """The stored hashes of the tiles ``keys`` (level, index), in one query; absent tiles
    are absent from the answer."""
    if not keys:
        return {}
    rows = conn.execute(
        select(TlogTile.level, TlogTile.idx, TlogTile.hashes).where(
            tuple_(TlogTile.level, TlogTile.idx).in_(sorted(keys))
        )
    )
    return {(int(level), int(idx)): bytes(hashes) for level, idx, hashes in rows}


def newest_checkpoint_size(conn: Connection) -> int:
    """The size of the newest checkpoint DOV signed (0 before the first)."""
    size = conn.execute(select(TlogCheckpoint.size).order_by(TlogCheckpoint.size.desc()).limit(1))
    return int(size.scalar() or 0)


def stored_tree(conn: Connection, size: int | None = None) -> TiledTree:
    """The tree of ``size`` entries (default: the newest checkpoint's) over the stored tiles;
    each of its methods reads the tiles it needs in one query on ``conn``."""
    chosen = newest_checkpoint_size(conn) if size is None else size
    return TiledTree(chosen, lambda keys: read_tiles(conn, keys))
