"""The transparency log's pure parts: RFC 9162 Merkle trees, C2SP signed notes and
checkpoints, witness cosignatures, the log's entries and the pupil's receipts.

No database, no HTTP: the provider (``leerid.idp.store.tlog``) stores the tree, the service
provider's kit (``leerid.sp.kit``) witnesses it, and ``leerid log check-receipt`` checks a
receipt offline, all with these functions. See docs/transparency-log.md.
"""

from leerid.transparency.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from leerid.transparency.cosignature import Cosigner, verify_cosignature
from leerid.transparency.entries import (
    KINDS,
    EntryError,
    LogEntry,
    decode_entry,
    disclosure_entry,
    entry_concerns,
    event_entry,
    protocol_entry,
    pupil_pseudonym,
)
from leerid.transparency.note import (
    Ed25519Signer,
    Note,
    NoteError,
    Signature,
    Verifier,
    open_note,
)
from leerid.transparency.receipt import (
    RECEIPT_FORMAT,
    ReceiptCheck,
    b64url,
    check_receipt,
    describe_entry,
    from_b64url,
    make_receipt,
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
    "RECEIPT_FORMAT",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "Checkpoint",
    "Cosigner",
    "Ed25519Signer",
    "EntryError",
    "LogEntry",
    "Note",
    "NoteError",
    "ProofError",
    "ReadTiles",
    "ReceiptCheck",
    "Signature",
    "TileKey",
    "TiledTree",
    "Verifier",
    "append_leaves",
    "b64url",
    "check_receipt",
    "consistency_path",
    "decode_entry",
    "describe_entry",
    "disclosure_entry",
    "entry_concerns",
    "event_entry",
    "from_b64url",
    "inclusion_path",
    "leaf_hash",
    "make_receipt",
    "node_hash",
    "open_checkpoint",
    "open_note",
    "protocol_entry",
    "pupil_pseudonym",
    "right_edge",
    "root_from_leaves",
    "sign_checkpoint",
    "tile_path",
    "tile_width",
    "verify_consistency",
    "verify_cosignature",
    "verify_inclusion",
]
