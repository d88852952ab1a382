"""C2SP signed-note v1: signing, opening and the strict form of notes and vkeys.

Known answers: the Go reference (golang.org/x/mod/sumdb/note, note_test.go and the package
documentation): the key "PeterNeumann" and its published signed note, which Ed25519 (RFC
8032, deterministic) must reproduce byte for byte.
"""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leerid.transparency.note import (
    MAX_SIGNATURES,
    Ed25519Signer,
    Note,
    NoteError,
    Signature,
    Verifier,
    key_id,
    open_note,
)

GO_SIGNER_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgK"
    "vqfqdngotpRZb6KE6RyyBwJnAM=\n"
)


def go_signer() -> Ed25519Signer:
    """The Go test key: PRIVATE+KEY+<name>+<id>+base64(0x01 ‖ seed)."""
    seed = base64.b64decode(GO_SIGNER_KEY.split("+", 4)[4])[1:]
    return Ed25519Signer("PeterNeumann", seed)


def test_the_go_reference_note_is_reproduced_byte_for_byte() -> None:
    signer = go_signer()
    assert signer.vkey == GO_VKEY
    assert signer.key_id == 0xC74F20A3
    assert Note(GO_TEXT, (signer.sign(GO_TEXT),)).render() == GO_NOTE
    note = open_note(GO_NOTE, [Verifier.from_vkey(GO_VKEY)])
    assert note.text == GO_TEXT
    assert note.signatures[0].name == "PeterNeumann"


def test_a_changed_text_is_refused_and_the_line_named() -> None:
    changed = GO_NOTE.replace("cryptography", "cryptographY")
    with pytest.raises(NoteError, match="line 4: the signature of PeterNeumann does not verify"):
        open_note(changed, [Verifier.from_vkey(GO_VKEY)])


def test_unknown_signatures_are_ignored_a_bad_known_one_rejects() -> None:
    """C2SP signed-note: same name other ID, or other name same ID, is an unknown key."""
    signer = go_signer()
    other = Ed25519Signer("PeterNeumann", b"\x07" * 32)  # same name, other key ID
    stranger = Signature("Stranger", signer.key_id, b"\x00" * 64)  # same ID, other name
    good = signer.sign(GO_TEXT)
    text = Note(GO_TEXT, (stranger, other.sign("another text\n"), good)).render()
    assert open_note(text, [Verifier.from_vkey(GO_VKEY)]).signatures[2] == good
    with pytest.raises(NoteError, match="no signature by a known key"):
        open_note(Note(GO_TEXT, (stranger,)).render(), [Verifier.from_vkey(GO_VKEY)])
    forged = Signature(signer.name, signer.key_id, b"\x00" * 64)
    with pytest.raises(NoteError, match="line 5: the signature of PeterNeumann"):
        open_note(Note(GO_TEXT, (good, forged)).render(), [Verifier.from_vkey(GO_VKEY)])
    with pytest.raises(NoteError, match=r"known: none"):
        open_note(GO_NOTE, [])


names = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x2FF, blacklist_characters="+"),
    min_size=1,
    max_size=20,
).filter(lambda n: not any(c.isspace() for c in n))
lines = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x2FF), max_size=40)


@given(
    text_lines=st.lists(lines, min_size=1, max_size=5).filter(lambda ls: "".join(ls)),
    signatures=st.lists(
        st.tuples(names, st.integers(0, 2**32 - 1), st.binary(min_size=1, max_size=80)),
        min_size=1,
        max_size=MAX_SIGNATURES,
    ),
)
def test_notes_round_trip(text_lines: list[str], signatures: list[tuple[str, int, bytes]]) -> None:
    note = Note(
        "".join(line + "\n" for line in text_lines), tuple(Signature(*s) for s in signatures)
    )
    assert Note.parse(note.render()) == note
    assert Note.parse(note.render().encode()) == note


@given(name=names, seed=st.binary(min_size=32, max_size=32), text=lines.filter(bool))
def test_any_signer_opens_its_own_notes(name: str, seed: bytes, text: str) -> None:
    signer = Ed25519Signer(name, seed)
    verifier = Verifier.from_vkey(signer.vkey)
    assert (verifier.name, verifier.key_id) == (name, signer.key_id)
    rendered = Note(text + "\n", (signer.sign(text + "\n"),)).render()
    assert open_note(rendered, [verifier]).text == text + "\n"


SIG = "— k AAAAAAE="  # key ID 0, one signature byte
MALFORMED = [
    (b"text\xff\n\n" + SIG.encode() + b"\n", "line 1: a note is valid UTF-8"),
    ("a\nb\tc\n\n" + SIG + "\n", "line 2: a note holds no control characters"),
    ("a\r\n\n" + SIG + "\n", "line 1: a note holds no control characters"),
    ("a\n\n" + SIG, "line 3: a note ends with a newline"),
    ("a\n" + SIG + "\n", "a blank line between its text and its signatures"),
    ("a\n\n", "line 3: a note has a text and at least one signature"),
    ("\n\n" + SIG + "\n", "a note has a text"),
    ("a\n\n- k AAAAAAE=\n", "line 3: a signature line starts with an em dash"),
    ("a\n\n— k+1 AAAAAAE=\n", "line 3: key name 'k\\+1'"),
    ("a\nb\n\n— k 1 AAAAAAE=\n", "line 4: expected '— <key name> <base64>'"),
    ("a\n\n— k AAAAAAE\n", "line 3: 'AAAAAAE' is not standard base64"),
    ("a\n\n— k AAAAAAF=\n", "line 3: 'AAAAAAF=' is not standard base64"),
    ("a\n\n— k AAAA_-E=\n", "is not standard base64"),
    ("a\n\n— k AAAAAA==\n", "line 3: a signature holds a 4-byte key ID"),
    ("a\n\n" + (SIG + "\n") * (MAX_SIGNATURES + 1), f"line {3 + MAX_SIGNATURES}: more than"),
    ("a\n\n— k\u00a0x AAAAAAE=\n", "key name"),
]


@pytest.mark.parametrize(("text", "reason"), MALFORMED)
def test_malformed_notes_are_refused_with_the_line(text: str | bytes, reason: str) -> None:
    with pytest.raises(NoteError, match=reason):
        Note.parse(text)


def test_sixteen_signatures_are_accepted() -> None:
    assert len(Note.parse("a\n\n" + (SIG + "\n") * MAX_SIGNATURES).signatures) == 16


def test_a_signer_refuses_what_is_no_note_text() -> None:
    signer = go_signer()
    for text in ["no newline", "\n", "a\x00\n"]:
        with pytest.raises(NoteError):
            signer.sign(text)
    for name in ["", "a b", "a+b", "a\u2003b"]:
        with pytest.raises(NoteError, match="a key name is non-empty"):
            Ed25519Signer(name, b"\x00" * 32)
    with pytest.raises(NoteError, match="an Ed25519 seed is 32 bytes"):
        Ed25519Signer("k", b"\x00" * 31)


def test_every_mangled_vkey_is_refused() -> None:
    """As golang.org/x/mod/sumdb/note TestNewVerifier: every proper part of the key and
    every key with one character changed is refused."""
    Verifier.from_vkey(GO_VKEY)
    manglings = {GO_VKEY[i:j] for i in range(len(GO_VKEY)) for j in range(i + 1, len(GO_VKEY))}
    manglings |= {
        GO_VKEY[:i] + chr(ord(GO_VKEY[i]) + 1) + GO_VKEY[i + 1 :] for i in range(len(GO_VKEY))
    }
    manglings.discard(GO_VKEY)
    for mangled in manglings:
        with pytest.raises(NoteError):
            Verifier.from_vkey(mangled)


def test_vkey_refusals_say_why() -> None:
    public = base64.b64decode(GO_VKEY.split("+", 2)[2])[1:]
    ecdsa = base64.b64encode(b"\x02" + public).decode()
    for vkey, reason in [
        ("PeterNeumann", "expected <name>\\+<key ID>\\+<key>"),
        ("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "8 lowercase"),
        ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "does not match"),
        (f"PeterNeumann+{key_id('PeterNeumann', 2, public):08x}+{ecdsa}", "type 0x01"),
    ]:
        with pytest.raises(NoteError, match=reason):
            Verifier.from_vkey(vkey)
