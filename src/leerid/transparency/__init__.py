"""The transparency log's pure parts: RFC 9162 Merkle trees, C2SP signed notes and
checkpoints, witness cosignatures, the log's entries and the pupil's receipts.

No database, no HTTP: the provider (``leerid.idp.store.tlog``) stores the tree, the service
provider's kit (``leerid.sp.kit``) witnesses it, and ``leerid log check-receipt`` checks a
receipt offline, all with these functions. See docs/transparency-log.md.
"""

from leerid.transparency.entries import (
    KINDS,
    EntryError,
    LogEntry,
    decode_entry,
    disclosure_entry,
    event_entry,
    protocol_entry,
    pupil_pseudonym,
)
from leerid.transparency.rfc9162 import (
    EMPTY_ROOT,
    HASH_SIZE,
    ProofError,
    consistency_path,
    inclusion_path,
    leaf_hash,
    node_hash,
    root_from_leaves,
    verify_consistency,
    verify_inclusion,
)
from leerid.transparency.tiles import (
    TILE_HEIGHT,
    TILE_WIDTH,
    ReadTiles,
    TiledTree,
    TileKey,
    append_leaves,
    right_edge,
    tile_path,
    tile_width,
)

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "KINDS",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "EntryError",
    "LogEntry",
    "ProofError",
    "ReadTiles",
    "TileKey",
    "TiledTree",
    "append_leaves",
    "consistency_path",
    "decode_entry",
    "disclosure_entry",
    "event_entry",
    "inclusion_path",
    "leaf_hash",
    "node_hash",
    "protocol_entry",
    "pupil_pseudonym",
    "right_edge",
    "root_from_leaves",
    "tile_path",
    "tile_width",
    "verify_consistency",
    "verify_inclusion",
]
