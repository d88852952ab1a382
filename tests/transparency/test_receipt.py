"""The pupil's receipt: made only when it holds, checked offline line by line, and every
tampering (entry, index, proof, checkpoint, keys, witnesses, form) refused with a line."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leerid.transparency.checkpoint import Checkpoint, sign_checkpoint
from leerid.transparency.cosignature import Cosigner
from leerid.transparency.entries import disclosure_entry, event_entry, protocol_entry
from leerid.transparency.note import Ed25519Signer, NoteError
from leerid.transparency.receipt import (
    RECEIPT_FORMAT,
    b64url,
    check_receipt,
    describe_entry,
    from_b64url,
    make_receipt,
)
from leerid.transparency.rfc9162 import ProofError, inclusion_path, leaf_hash, root_from_leaves

ORIGIN = "leerid.example/dov-log"
LOG = Ed25519Signer(ORIGIN, b"\x11" * 32)
WITNESS = Cosigner("lars.example/witness", b"\x22" * 32)
ABSENT = Cosigner("other.example/witness", b"\x33" * 32)
AT = dt.datetime(2025, 3, 12, 10, 15, tzinfo=dt.UTC)


def entries(size: int) -> list[bytes]:
    made = []
    for i in range(size):
        if i % 3:
            entry = disclosure_entry(
                at=AT,
                client_id="lars-app",
                endpoint="userinfo",
                protocol_id="P-1",
                protocol_hash="h",
                claims=["given_name", "school"],
                outcome="released",
                reason=None,
                pupil_secret=b"k" * 32,
                pupil_identifier=f"pupil-{i}",
            )
        else:
            entry = event_entry(
                at=AT, client_id="lars-app", event="merge", jti=f"j{i}", protocol_id=None
            )
        made.append(entry.encode())
    return made


def receipt_for(
    index: int, size: int = 7, witnesses: tuple[Cosigner, ...] = (WITNESS,)
) -> dict[str, Any]:
    data = entries(size)
    leaves = [leaf_hash(e) for e in data]
    checkpoint = Checkpoint(ORIGIN, size, root_from_leaves(leaves))
    note = sign_checkpoint(checkpoint, LOG)
    note += "".join(w.cosign(checkpoint.body(), 1_741_774_500).line() + "\n" for w in witnesses)
    return make_receipt(
        data[index],
        index,
        inclusion_path(index, leaves),
        note,
        LOG.vkey,
        [WITNESS.vkey, ABSENT.vkey],
    )


def test_a_good_receipt_passes_every_check() -> None:
    receipt = receipt_for(4)
    assert receipt["format"] == RECEIPT_FORMAT
    assert receipt["log"] == {"origin": ORIGIN, "vkey": LOG.vkey}
    assert receipt["witnesses"] == [WITNESS.vkey]  # the absent witness did not cosign
    check = check_receipt(receipt, LOG.vkey, [WITNESS.vkey])
    assert check.ok and check.pinned, check.lines
    assert check.witnessed == ["lars.example/witness"]
    assert check.entry is not None and check.entry.fields["client"] == "lars-app"
    texts = [text for _, text in check.lines]
    assert any("12-03-2025 10:15 UTC vroeg lars-app given_name, school" in t for t in texts)
    assert any("als nummer 4 van de 7 regels" in t for t in texts)
    assert any("Getuige lars.example/witness" in t and "12-03-2025 10:15" in t for t in texts)
    assert check_receipt(json.dumps(receipt), LOG.vkey).ok
    assert check_receipt(json.dumps(receipt).encode(), LOG.vkey).ok


def test_without_a_pinned_key_the_check_says_so_and_how_to_compare() -> None:
    check = check_receipt(receipt_for(0))
    assert check.ok and not check.pinned
    caution = [text for _, text in check.lines if "not pinned" in text]
    assert caution and LOG.vkey in caution[0] and "leerid log checkpoint" in caution[0]


def test_a_forgers_receipt_fails_against_the_pinned_key() -> None:
    forger = Ed25519Signer(ORIGIN, b"\x66" * 32)
    receipt = receipt_for(2)
    body = receipt["checkpoint"].split("\n\n")[0] + "\n"
    receipt["checkpoint"] = sign_checkpoint(Checkpoint.parse(body), forger)
    receipt["log"]["vkey"] = forger.vkey
    receipt["witnesses"] = []
    assert check_receipt(receipt).ok  # only internally consistent: hence the caution line
    check = check_receipt(receipt, LOG.vkey)
    assert not check.ok
    failed = [text for ok, text in check.lines if not ok]
    assert any("differs from the pinned key" in t for t in failed)
    assert any("checkpoint signature invalid" in t for t in failed)


def test_a_made_up_key_under_a_real_witness_name_is_not_counted() -> None:
    """A DOV that shows a fork can sign it and add a cosignature by a key it made up under
    the name of a real witness; only a key the reader pins counts (C2SP tlog-cosignature:
    a cosignature means something only by a key the verifier trusts)."""
    impostor = Cosigner(WITNESS.name, b"\x77" * 32)
    receipt = receipt_for(4, witnesses=(impostor,))
    receipt["witnesses"] = [impostor.vkey]
    unpinned = check_receipt(receipt, LOG.vkey)
    assert unpinned.ok and unpinned.witnessed == []
    texts = [text for _, text in unpinned.lines]
    assert any("niet nagekeken: sleutel niet opgegeven" in t for t in texts)
    assert not any("zag hetzelfde logboek" in t for t in texts)
    pinned = check_receipt(receipt, LOG.vkey, [WITNESS.vkey])
    assert not pinned.ok and pinned.witnessed == []
    failed = [text for ok, text in pinned.lines if not ok]
    assert failed == [
        f"Getuige {WITNESS.name} heeft dit logboek niet (geldig) mee ondertekend "
        "(cosignature missing or invalid)."
    ]


def _tamper(receipt: dict[str, Any], how: str) -> None:
    if how == "entry":
        receipt["entry"] = receipt_for(1)["entry"]
    elif how == "index":
        receipt["index"] += 1
    elif how == "proof":
        proof = receipt["inclusion_proof"]
        proof[0] = b64url(bytes(32))
    elif how == "short-proof":
        receipt["inclusion_proof"].pop()
    elif how == "leaf":
        receipt["leaf_hash"] = b64url(bytes(32))
    elif how == "checkpoint":
        receipt["checkpoint"] = receipt["checkpoint"].replace("\n7\n", "\n8\n")
    elif how == "origin":
        receipt["log"]["origin"] = "elsewhere.example/log"
    elif how == "witness":
        receipt["witnesses"].append(ABSENT.vkey)
    elif how == "cosignature":
        receipt["checkpoint"] = "\n".join(receipt["checkpoint"].split("\n")[:-2]) + "\n"
    elif how == "format":
        receipt["format"] = "leerid-receipt/v2"
    elif how == "missing":
        del receipt["inclusion_proof"]
    elif how == "padding":
        receipt["entry"] += "="
    elif how == "index-type":
        receipt["index"] = "4"


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("entry", "inclusion proof invalid"),
        ("index", "inclusion proof invalid"),
        ("proof", "inclusion proof invalid"),
        ("short-proof", "too few"),
        ("leaf", "leaf hash"),
        ("checkpoint", "checkpoint signature invalid"),
        ("origin", "origin mismatch"),
        ("witness", "Getuige other.example/witness heeft dit logboek niet"),
        ("cosignature", "Getuige lars.example/witness heeft dit logboek niet"),
        ("format", "unknown format"),
        ("missing", "inclusion_proof ontbreekt"),
        ("padding", "entry is not base64url"),
        ("index-type", "index ontbreekt of is geen int"),
    ],
)
def test_every_tampering_is_refused_with_a_line(how: str, reason: str) -> None:
    receipt = copy.deepcopy(receipt_for(4))
    _tamper(receipt, how)
    pinned = [WITNESS.vkey, *([ABSENT.vkey] if how == "witness" else [])]
    check = check_receipt(receipt, LOG.vkey, pinned)
    assert not check.ok
    assert any(reason in text for ok, text in check.lines if not ok), check.lines


def test_what_is_no_receipt_says_so() -> None:
    documents: list[str | bytes] = ["not json", "[1]", b"\xff", "{}"]
    for document in documents:
        check = check_receipt(document)
        assert not check.ok and len(check.lines) == 1


def test_a_receipt_is_made_only_when_it_holds() -> None:
    receipt = receipt_for(3)
    entry, proof = (
        from_b64url(receipt["entry"]),
        [from_b64url(p) for p in receipt["inclusion_proof"]],
    )
    with pytest.raises(ProofError):
        make_receipt(entry, 2, proof, receipt["checkpoint"], LOG.vkey)
    stranger = Ed25519Signer(ORIGIN, b"\x44" * 32)
    with pytest.raises(NoteError, match="no signature by a known key"):
        make_receipt(entry, 3, proof, receipt["checkpoint"], stranger.vkey)
    with pytest.raises(NoteError, match="is a witness key"):
        make_receipt(entry, 3, proof, receipt["checkpoint"], WITNESS.vkey)


@settings(max_examples=25, deadline=None)
@given(size=st.integers(1, 40), data=st.data())
def test_receipts_of_any_entry_check(size: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, size - 1))
    check = check_receipt(receipt_for(index, size), LOG.vkey)
    assert check.ok, check.lines


@given(st.binary(max_size=70))
def test_base64url_round_trips(data: bytes) -> None:
    assert from_b64url(b64url(data)) == data
    assert "=" not in b64url(data)


# "AB" spells 0x00 with non-zero leftover bits: only "AA" is the canonical spelling.
@pytest.mark.parametrize("text", ["AA==", "A", "AB+/", "AB c", "AB", "AQ=", "é"])
def test_base64url_refuses_other_spellings(text: str) -> None:
    with pytest.raises(ValueError, match="value is not base64url"):
        from_b64url(text, "value")


def test_each_kind_of_entry_reads_as_one_dutch_sentence() -> None:
    version = protocol_entry(
        "protocol_version", at=AT, protocol="P-1", protocol_hash="h", version=2
    )
    assert describe_entry(version) == "op 12-03-2025 10:15 UTC: een nieuwe versie van protocol P-1"
    event = event_entry(at=AT, client_id="lars-app", event="merge", jti="j", protocol_id=None)
    assert "stuurde LeerID lars-app het bericht merge" in describe_entry(event)
