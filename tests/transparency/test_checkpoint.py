"""C2SP tlog-checkpoint and tlog-cosignature v1: the log's signed head and a witness's
cosignature of it.

Known answer: a checkpoint of the public log arche2025h1.staging.ct.transparency.dev (an
Ed25519 log signature, type 0x01) cosigned by the witness remora.n621.de (type 0x04), with
the two published vkeys; other witnesses' lines are unknown keys and are ignored.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leerid.transparency.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from leerid.transparency.cosignature import Cosigner, verify_cosignature
from leerid.transparency.note import Ed25519Signer, Note, NoteError, Verifier, open_note
from leerid.transparency.rfc9162 import leaf_hash
from leerid.transparency.tiles import append_leaves

ARCHE_VKEY = (
    "arche2025h1.staging.ct.transparency.dev+ba2f06c0+AU0vHmlGCS/PdN8b2OaGmKprLI8HKM+dJ472xgFYh15f"
)
REMORA_VKEY = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
ARCHE_BODY = (
    "arche2025h1.staging.ct.transparency.dev\n1432088532\n"
    "U7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=\n"
)
ARCHE_NOTE = (
    ARCHE_BODY
    + "\n"
    + "".join(
        f"— {line}\n"
        for line in [
            "arche2025h1.staging.ct.transparency.dev zTM8sQAAAZ5W0WdjBAMARjBEAiBjW5IQf9pvsYLfQFX6h"
            "oGREPMHbdQ3urbllzalApkptQIgIpwtEroeW2BXaHAI4kJXFbon5Ch9MNL5zRNZ55lvGt0=",
            "arche2025h1.staging.ct.transparency.dev ui8GwCF1+kWqZrxGdhj4aX3gcw7XUlXQQabg/27lefwhU"
            "kzbC3NygNI75MdhL1bfTW9g8Ei59RA23oHP7Ry1k3ZFWwQ=",
            "transparency.dev/DEV:witness-little-garden 2AQqhwAAAABqEiEgzgFIqqhbUoDwjMWE6UP8nd8/K"
            "YTzwZ2rhIgcqoXHAwVkjZr4AscylP3v7sEodkRAErumC2q44vdgJY096st5BQ==",
            "witness1.smartit.nu/witness1 pIyCDwAAAABqEiEghIp82KWebrw7/oHQwlTAm3g2RKS4+eebl8eO0WH+"
            "/iEcxZ75W3u5hNI7TOQtmJbqmNWVuE0tgh0XwzdZsDsUAQ==",
            "remora.n621.de 2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI+aVCIo"
            "bWX9sXTynk5XeU/zZ0WBxtqB0DrAWfBw==",
            "witness.stagemole.eu Z/euoAAAAABqEiEgw0i+7g2ENfDAWHmtRzCfKTHSDwYDJA2NmKeGi9Y8FtEyOUvV"
            "r+AJmIY/2TUFucgKi7lI7cUiOvKFYe/TmN9DAg==",
        ]
    )
)
ROOT = bytes(range(32))
LOG_SEED, WITNESS_SEED = b"\x01" * 32, b"\x02" * 32


def test_a_public_checkpoint_and_its_witness_cosignature_verify() -> None:
    checkpoint, note = open_checkpoint(ARCHE_NOTE, Verifier.from_vkey(ARCHE_VKEY))
    assert (checkpoint.origin, checkpoint.size) == (ARCHE_BODY.split("\n")[0], 1432088532)
    assert checkpoint.body() == ARCHE_BODY
    remora = next(s for s in note.signatures if s.name == "remora.n621.de")
    assert verify_cosignature(remora, ARCHE_BODY, REMORA_VKEY) == 1779573024
    assert open_note(ARCHE_NOTE, [Verifier.from_vkey(REMORA_VKEY)]) == note
    other = ARCHE_BODY.replace("1432088532", "1432088533")
    with pytest.raises(NoteError, match="does not verify on this checkpoint"):
        verify_cosignature(remora, other, REMORA_VKEY)
    # line 5 is the log's RFC 6962 signature (type 0x05: another key ID), ignored
    with pytest.raises(NoteError, match="line 6: the signature of arche2025h1"):
        open_checkpoint(ARCHE_NOTE.replace(ARCHE_BODY, other), Verifier.from_vkey(ARCHE_VKEY))


origins = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x24F), min_size=1, max_size=30)


@given(
    origin=origins,
    size=st.integers(0, 2**63),
    root=st.binary(min_size=32, max_size=32),
    extensions=st.lists(origins, max_size=3),
)
def test_checkpoints_round_trip_signed_and_cosigned(
    origin: str, size: int, root: bytes, extensions: list[str]
) -> None:
    checkpoint = Checkpoint(origin, size, root, tuple(extensions))
    assert Checkpoint.parse(checkpoint.body()) == checkpoint
    log = Ed25519Signer("leerid.example/log", LOG_SEED)
    text = sign_checkpoint(checkpoint, log)
    witness = Cosigner("lars.example/witness", WITNESS_SEED)
    cosignature = witness.cosign(checkpoint.body(), 1_700_000_000)
    cosigned = text + cosignature.line() + "\n"
    opened, note = open_checkpoint(cosigned, Verifier.from_vkey(log.vkey))
    assert opened == checkpoint
    assert verify_cosignature(note.signatures[1], note.text, witness.vkey) == 1_700_000_000


def test_a_cosignature_is_the_timestamp_and_an_ed25519_signature_of_the_v1_message() -> None:
    body = Checkpoint("leerid.example/log", 3, ROOT).body()
    witness = Cosigner("lars.example/witness", WITNESS_SEED)
    assert witness.vkey.split("+")[2].startswith("B")  # base64 of 0x04 ‖ key
    signature = witness.cosign(body, 1679315147)
    assert signature.signature[:8] == (1679315147).to_bytes(8, "big")
    message = b"cosignature/v1\ntime 1679315147\n" + body.encode()
    assert Verifier.from_vkey(witness.vkey).verify_message(message, signature.signature[8:])


def test_cosignature_refusals_say_why() -> None:
    body = Checkpoint("leerid.example/log", 3, ROOT).body()
    witness = Cosigner("lars.example/witness", WITNESS_SEED)
    other = Cosigner("lars.example/other", b"\x03" * 32)
    log = Ed25519Signer("leerid.example/log", LOG_SEED)
    signature = witness.cosign(body, 5)
    for args, reason in [
        ((signature, body, other.vkey), "not by lars.example/other"),
        ((signature, body, log.vkey), "is not a witness \\(type 0x04\\) key"),
        ((other.cosign(body, 5), body, witness.vkey), "not by lars.example/witness"),
        ((type(signature)(witness.name, witness.key_id, b"x" * 64), body, witness.vkey), "72"),
        ((signature, "not a checkpoint\n", witness.vkey), "line 2"),
    ]:
        with pytest.raises(NoteError, match=reason):
            verify_cosignature(*args)
    with pytest.raises(NoteError, match="between 0 and 2\\^63 - 1"):
        witness.cosign(body, 2**63)
    forged = type(signature)(witness.name, witness.key_id, (2**63).to_bytes(8, "big") + b"\0" * 64)
    note = Note(body, (log.sign(body), forged)).render()
    with pytest.raises(NoteError, match=r"line 6: the signature of lars\.example/witness"):
        open_note(note, [Verifier.from_vkey(log.vkey), Verifier.from_vkey(witness.vkey)])


BODY_ERRORS = [
    ("o\n1\n" + base64.b64encode(ROOT).decode(), "ends with a newline"),
    ("o\n1\n", "line 3: a checkpoint has an origin, a size and a root hash"),
    ("\n1\nAAAA\n", "line 1: a checkpoint's origin is not empty"),
    ("o\n01\nAAAA\n", "line 2: the tree size '01' is not a decimal number"),
    ("o\n-1\nAAAA\n", "line 2"),
    ("o\n+1\nAAAA\n", "line 2"),
    ("o\n 1\nAAAA\n", "line 2"),
    ("o\n\u0661\nAAAA\n", "line 2"),
    ("o\n18446744073709551616\nAAAA\n", "line 2"),
    ("o\n1\nAAAA\n", "line 3: the root hash is 3 bytes, not 32"),
    ("o\n1\n" + base64.urlsafe_b64encode(b"\xff" * 32).decode() + "\n", "line 3: the root hash"),
    ("o\n1\n" + base64.b64encode(ROOT).decode().rstrip("=") + "\n", "not standard base64"),
    ("o\n1\n" + base64.b64encode(ROOT).decode() + "\next\n\n", "line 5: a checkpoint's extension"),
]


@pytest.mark.parametrize(("body", "reason"), BODY_ERRORS)
def test_malformed_checkpoints_are_refused_with_the_line(body: str, reason: str) -> None:
    with pytest.raises(NoteError, match=reason):
        Checkpoint.parse(body)


def test_a_checkpoint_is_made_only_of_valid_parts() -> None:
    for args in [("", 1, ROOT), ("o\n", 1, ROOT), ("o", -1, ROOT), ("o", 1, b"short")]:
        with pytest.raises(NoteError):
            Checkpoint(*args)
    with pytest.raises(NoteError, match="extension lines"):
        Checkpoint("o", 1, ROOT, ("",))
    with pytest.raises(NoteError, match="no control characters"):
        Checkpoint("o\x01", 1, ROOT)


def test_the_documented_example_is_what_the_code_makes() -> None:
    """docs/transparency-log.md shows a checkpoint of five entries, signed and cosigned with
    the example seeds 0x11… and 0x22…: it must be byte for byte what the code makes."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "transparency-log.md").read_text(
        encoding="utf-8"
    )
    leaves = [leaf_hash(b"entry %d" % i) for i in range(4)]
    entry = doc.split('```\n{"at":"2025-03-12T10:15:02.123456Z","claims"', 1)[1].split("\n")[0]
    leaves.append(leaf_hash(('{"at":"2025-03-12T10:15:02.123456Z","claims"' + entry).encode()))
    _, root = append_leaves(0, {}, leaves)
    body = Checkpoint("leerid.example/dov-log", 5, root).body()
    log = Ed25519Signer("leerid.example/dov-log", b"\x11" * 32)
    witness = Cosigner("lars.example/witness", b"\x22" * 32)
    note = sign_checkpoint(Checkpoint.parse(body), log)
    note += witness.cosign(body, 1741774503).line() + "\n"
    assert "```\n" + note + "```" in doc
    assert log.vkey in doc and witness.vkey in doc
