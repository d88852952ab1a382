"""RFC 9162 §2.1: the Merkle Tree Hash of the transparency log (SHA-256), its proofs, and
their verification.

§2.1.1: the hash of an empty list is SHA-256 of the empty string; a leaf is hashed as
SHA-256(0x00 ‖ entry) and an interior node as SHA-256(0x01 ‖ left ‖ right), so that a leaf
can never be taken for a node (second-preimage resistance).

``root_from_leaves``, ``inclusion_path`` and ``consistency_path`` are the reference
definitions (MTH, PATH and PROOF of §2.1.1, §2.1.3.1 and §2.1.4.1) over leaf hashes held in
memory: they recurse exactly as the RFC writes them, and the tiled tree
(``leerid.transparency.tiles``) is tested against them. ``verify_inclusion`` and
``verify_consistency`` are the client algorithms of §2.1.3.2 and §2.1.4.2.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from leerid.errors import LeeridError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "ProofError",
    "consistency_path",
    "inclusion_path",
    "leaf_hash",
    "node_hash",
    "root_from_leaves",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""RFC 9162 §2.1.1: MTH({}) = SHA-256()."""


class ProofError(LeeridError):
    """A proof that does not hold, or a proof asked for an index or size the tree has not."""


def leaf_hash(entry: bytes) -> bytes:
    """RFC 9162 §2.1.1: MTH({d(0)}) = SHA-256(0x00 ‖ d(0))."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1: SHA-256(0x01 ‖ MTH(left) ‖ MTH(right))."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """RFC 9162 §2.1.1: k, the largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaves(leaves: Sequence[bytes]) -> bytes:
    """RFC 9162 §2.1.1: MTH(D[n]) over the leaf hashes ``leaves`` (reference version)."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return node_hash(root_from_leaves(leaves[:k]), root_from_leaves(leaves[k:]))


def inclusion_path(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """RFC 9162 §2.1.3.1: PATH(m, D[n]), the inclusion proof of leaf ``index`` in the tree
    of the leaf hashes ``leaves``, nearest sibling first (reference version)."""
    if not 0 <= index < len(leaves):
        raise ProofError(f"leaf index {index} is not in a tree of size {len(leaves)}")
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*inclusion_path(index, leaves[:k]), root_from_leaves(leaves[k:])]
    return [*inclusion_path(index - k, leaves[k:]), root_from_leaves(leaves[:k])]


def consistency_path(old_size: int, leaves: Sequence[bytes]) -> list[bytes]:
    """RFC 9162 §2.1.4.1: PROOF(m, D[n]), the consistency proof from size ``old_size`` to
    the tree of ``leaves`` (reference version; empty for m = 0 and m = n)."""
    if not 0 <= old_size <= len(leaves):
        raise ProofError(f"size {old_size} is not between 0 and the tree's size {len(leaves)}")
    if old_size == 0:
        return []
    return _subproof(old_size, leaves, True)


def _subproof(m: int, leaves: Sequence[bytes], whole: bool) -> list[bytes]:
    """RFC 9162 §2.1.4.1: SUBPROOF(m, D[n], b)."""
    n = len(leaves)
    if m == n:
        return [] if whole else [root_from_leaves(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], whole), root_from_leaves(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), root_from_leaves(leaves[:k])]


def _check_hashes(what: str, hashes: Sequence[bytes]) -> None:
    for position, value in enumerate(hashes):
        if len(value) != HASH_SIZE:
            raise ProofError(
                f"{what} {position} is {len(value)} bytes; a SHA-256 hash is {HASH_SIZE}"
            )


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 §2.1.3.2: check that the leaf hash ``leaf`` is entry ``index`` of the tree
    of ``size`` entries whose root is ``root``; ``ProofError`` with the reason if not."""
    _check_hashes("proof hash", proof)
    _check_hashes("hash", [leaf, root])
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not in a tree of size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError(f"the inclusion proof has {len(proof)} hashes: too many")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError(f"the inclusion proof has {len(proof)} hashes: too few")
    if r != root:
        raise ProofError(f"entry {index} with this proof does not give the root of size {size}")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 §2.1.4.2: check that the tree of ``old_size`` entries with root
    ``old_root`` is a prefix of the tree of ``new_size`` entries with root ``new_root``;
    ``ProofError`` with the reason if not. Sizes 0 and equal sizes take an empty proof."""
    _check_hashes("proof hash", proof)
    _check_hashes("root", [old_root, new_root])
    if not 0 <= old_size <= new_size:
        raise ProofError(f"sizes {old_size} and {new_size}: the first may not exceed the second")
    if old_size in (0, new_size):
        if proof:
            raise ProofError(f"from size {old_size} to {new_size} the proof must be empty")
        if old_size == 0 and old_root != EMPTY_ROOT:
            raise ProofError("the root of size 0 must be SHA-256 of the empty string")
        if old_size == new_size and old_root != new_root:
            raise ProofError(f"two different roots for the same size {old_size}")
        return
    if not proof:
        raise ProofError(f"from size {old_size} to {new_size} the proof may not be empty")
    path = [old_root, *proof] if old_size & (old_size - 1) == 0 else list(proof)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError(f"the consistency proof has {len(proof)} hashes: too many")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError(f"the consistency proof has {len(proof)} hashes: too few")
    if fr != old_root:
        raise ProofError(f"the proof does not give the root of size {old_size}")
    if sr != new_root:
        raise ProofError(f"the proof does not give the root of size {new_size}")
