"""RFC 9162 §2.1: the reference tree hash, proofs and their verification.

Known answers: the Certificate Transparency test vectors (eight leaves ``""``, ``00``, ``10``,
``2021``, ``3031``, ``40414243``, ``5051525354555657``, ``606162636465666768696a6b6c6d6e6f``,
their roots for sizes 1..8 and the inclusion and consistency proofs), as published in
google/certificate-transparency ``cpp/merkletree/merkle_tree_test.cc`` and repeated in
google/trillian ``merkle/log_verifier_test.go`` and transparency-dev/merkle ``testonly``.
Oracle: pymerkle (an independent implementation; its leaves are numbered from 1 and its
inclusion path starts with the leaf itself).
"""

from __future__ import annotations

import hashlib

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
    node_hash,
    root_from_leaves,
    verify_consistency,
    verify_inclusion,
)

VECTOR_ENTRIES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
VECTOR_LEAVES = [leaf_hash(e) for e in VECTOR_ENTRIES]
VECTOR_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (index, size, proof): index from 0 (the Go vectors number leaves from 1).
INCLUSION_VECTORS = [
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]


def synthetic_leaves(size: int) -> list[bytes]:
    """Leaf hashes of the entries ``b"entry 0"``, ``b"entry 1"``, …"""
    return [leaf_hash(b"entry %d" % i) for i in range(size)]


def test_hashing_is_rfc9162_2_1_1() -> None:
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT
    assert leaf_hash(b"ab") == hashlib.sha256(b"\x00ab").digest()
    assert (
        node_hash(b"l" * 32, b"r" * 32) == hashlib.sha256(b"\x01" + b"l" * 32 + b"r" * 32).digest()
    )


@pytest.mark.parametrize("size", range(9))
def test_roots_match_the_ct_vectors(size: int) -> None:
    assert root_from_leaves(VECTOR_LEAVES[:size]).hex() == VECTOR_ROOTS[size]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION_VECTORS)
def test_inclusion_proofs_match_the_ct_vectors(index: int, size: int, proof: list[str]) -> None:
    path = inclusion_path(index, VECTOR_LEAVES[:size])
    assert [p.hex() for p in path] == proof
    root = bytes.fromhex(VECTOR_ROOTS[size])
    verify_inclusion(VECTOR_LEAVES[index], index, size, path, root)


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY_VECTORS)
def test_consistency_proofs_match_the_ct_vectors(old: int, new: int, proof: list[str]) -> None:
    path = consistency_path(old, VECTOR_LEAVES[:new])
    assert [p.hex() for p in path] == proof
    old_root, new_root = (bytes.fromhex(VECTOR_ROOTS[s]) for s in (old, new))
    verify_consistency(old, new, old_root, new_root, path)


def test_pymerkle_hashes_as_rfc9162_so_it_can_be_an_oracle() -> None:
    """pymerkle prefixes 0x00 / 0x01 by default: it gives the CT vectors' roots."""
    tree = InmemoryTree(algorithm="sha256")
    for size, entry in enumerate(VECTOR_ENTRIES, start=1):
        tree.append_entry(entry)
        assert tree.get_root(size).hex() == VECTOR_ROOTS[size]


@settings(max_examples=40, deadline=None)
@given(size=st.integers(1, 300), data=st.data())
def test_reference_agrees_with_pymerkle(size: int, data: st.DataObject) -> None:
    entries = [b"entry %d" % i for i in range(size)]
    tree = InmemoryTree(algorithm="sha256")
    for entry in entries:
        tree.append_entry(entry)
    leaves = [leaf_hash(e) for e in entries]
    assert root_from_leaves(leaves) == tree.get_root(size)
    index = data.draw(st.integers(0, size - 1), label="index")
    theirs = tree.prove_inclusion(index + 1, size).serialize()["path"][1:]
    assert [p.hex() for p in inclusion_path(index, leaves)] == theirs
    old = data.draw(st.integers(0, size), label="old")
    assert root_from_leaves(leaves[:old]) == (tree.get_root(old) if old else EMPTY_ROOT)


@settings(max_examples=150, deadline=None)
@given(size=st.integers(1, 600), data=st.data())
def test_every_inclusion_proof_verifies_and_every_tampering_is_refused(
    size: int, data: st.DataObject
) -> None:
    leaves = synthetic_leaves(size)
    root = root_from_leaves(leaves)
    index = data.draw(st.integers(0, size - 1), label="index")
    proof = inclusion_path(index, leaves)
    verify_inclusion(leaves[index], index, size, proof, root)
    refused = [
        (leaves[index], index, size, [*proof, root], root),  # a hash too many
        (leaves[index], index, size, [root, *proof], root),
        (leaf_hash(b"other"), index, size, proof, root),  # another entry
        (leaves[index], index, size, proof, EMPTY_ROOT),  # another root
        (leaves[index], index, size * 2, proof, root),  # another size
    ]
    if proof:
        position = data.draw(st.integers(0, len(proof) - 1), label="position")
        bit = data.draw(st.integers(0, 255), label="bit")
        bad = bytearray(proof[position])
        bad[bit // 8] ^= 1 << (bit % 8)
        refused.append(
            (
                leaves[index],
                index,
                size,
                [*proof[:position], bytes(bad), *proof[position + 1 :]],
                root,
            )
        )
        refused.append((leaves[index], index, size, proof[:-1], root))  # a hash too few
    if size > 1:
        other = data.draw(st.integers(0, size - 1).filter(lambda i: i != index), label="other")
        refused.append((leaves[index], other, size, proof, root))  # another place
    for arguments in refused:
        with pytest.raises(ProofError):
            verify_inclusion(*arguments)


@settings(max_examples=150, deadline=None)
@given(size=st.integers(1, 600), data=st.data())
def test_every_consistency_proof_verifies_and_every_tampering_is_refused(
    size: int, data: st.DataObject
) -> None:
    leaves = synthetic_leaves(size)
    old = data.draw(st.integers(0, size), label="old")
    old_root, new_root = root_from_leaves(leaves[:old]), root_from_leaves(leaves)
    proof = consistency_path(old, leaves)
    verify_consistency(old, size, old_root, new_root, proof)
    other_root = leaf_hash(b"other")
    refused = [
        (old, size, other_root, new_root, proof),
        (old, size, old_root, new_root, [*proof, new_root]),
        (size + 1, size, old_root, new_root, proof),
    ]
    if old:  # every tree extends the empty one: size 0 says nothing of the new root
        refused.append((old, size, old_root, other_root, proof))
    if proof:
        position = data.draw(st.integers(0, len(proof) - 1), label="position")
        bad = bytearray(proof[position])
        bad[data.draw(st.integers(0, 31), label="byte")] ^= 0x40
        refused.append(
            (old, size, old_root, new_root, [*proof[:position], bytes(bad), *proof[position + 1 :]])
        )
        refused.append((old, size, old_root, new_root, proof[:-1]))
        refused.append((old, size, old_root, new_root, proof[1:]))
        refused.append((old, size * 2, old_root, new_root, proof))
    for arguments in refused:
        with pytest.raises(ProofError):
            verify_consistency(*arguments)


def test_trivial_consistency_takes_an_empty_proof_only() -> None:
    root = VECTOR_LEAVES[0]
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    verify_consistency(0, 1, EMPTY_ROOT, root, [])
    verify_consistency(1, 1, root, root, [])
    for arguments, reason in [
        ((0, 1, EMPTY_ROOT, root, [root]), "must be empty"),
        ((1, 1, root, EMPTY_ROOT, []), "two different roots"),
        ((0, 1, root, root, []), "size 0"),
        ((2, 1, root, root, []), "may not exceed"),
        ((1, 2, root, root, []), "may not be empty"),
        ((1, 2, root, b"short", [root]), "32"),
    ]:
        with pytest.raises(ProofError, match=reason):
            verify_consistency(*arguments)


def test_out_of_range_requests_say_why() -> None:
    with pytest.raises(ProofError, match="leaf index 3 is not in a tree of size 3"):
        inclusion_path(3, VECTOR_LEAVES[:3])
    with pytest.raises(ProofError, match="size 4 is not between 0 and the tree's size 3"):
        consistency_path(4, VECTOR_LEAVES[:3])
    with pytest.raises(ProofError, match="leaf index 0 is not in a tree of size 0"):
        verify_inclusion(VECTOR_LEAVES[0], 0, 0, [], EMPTY_ROOT)
    with pytest.raises(ProofError, match="proof hash 0 is 3 bytes"):
        verify_inclusion(VECTOR_LEAVES[0], 0, 2, [b"abc"], EMPTY_ROOT)
