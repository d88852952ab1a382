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

from sqlalchemy import Connection

from leerid.transparency.tiles import TiledTree, TileKey

__all__ = ["newest_checkpoint_size", "read_tiles", "stored_tree"]


def read_tiles(conn: Connection, keys: set[TileKey]) -> Mapping[TileKey, bytes]:
    """The stored hashes of the tiles ``keys`` (level, index), in one query; absent tiles
    are absent from the answer.

    The keys are written into the statement as integer literals (``int()`` of each: nothing
    from outside reaches the SQL text), a row-value ``IN`` list that neither SQLAlchemy nor
    the driver expands per call: this read is most of a proof's time."""
    if not keys:
        return {}
    pairs = ",".join(f"({int(level)},{int(idx)})" for level, idx in sorted(keys))
    rows = conn.exec_driver_sql(
        f"SELECT level, idx, hashes FROM idp_tlog_tile WHERE (level, idx) IN ({pairs})"  # noqa: S608 - integers only
    )
    return {(int(level), int(idx)): bytes(hashes) for level, idx, hashes in rows}


def newest_checkpoint_size(conn: Connection) -> int:
    """The size of the newest checkpoint DOV signed (0 before the first)."""
    size = conn.exec_driver_sql(
        "SELECT size FROM idp_tlog_checkpoint ORDER BY size DESC LIMIT 1"
    ).scalar()
    return int(size or 0)


def stored_tree(conn: Connection, size: int | None = None) -> TiledTree:
    """The tree of ``size`` entries (default: the newest checkpoint's) over the stored tiles;
    each of its methods reads the tiles it needs in one query on ``conn``."""
    chosen = newest_checkpoint_size(conn) if size is None else size
    return TiledTree(chosen, lambda keys: read_tiles(conn, keys))
