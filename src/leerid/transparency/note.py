"""C2SP signed-note v1: text signed by one or more keys, and its Ed25519 keys.

A note is a text ending in a newline, a blank line, and one or more signature lines
``— <key name> <base64(4-byte key ID ‖ signature)>``. It is valid UTF-8 without control
characters other than newline; key names are non-empty, without spaces or ``+``. The key ID
is SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4] (big-endian), with type 0x01 for a note's
Ed25519 signature and 0x04 for a witness cosignature (C2SP tlog-cosignature). A verifier
key ("vkey") is ``<name>+<8 hex digits of the key ID>+<base64(type ‖ public key)>``.

Opening a note follows the spec: signatures by unknown keys are ignored, one by a known key
that does not verify rejects the note, and a note with no verified known signature is
rejected. Parsing is strict and every refusal (``NoteError``) names the line.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from leerid.errors import LeeridError

__all__ = [
    "MAX_SIGNATURES",
    "TYPE_COSIGNATURE",
    "TYPE_ED25519",
    "Ed25519Key",
    "Ed25519Signer",
    "Note",
    "NoteError",
    "Signature",
    "Verifier",
    "cosignature_message",
    "key_id",
    "open_note",
]

TYPE_ED25519 = 0x01
"""C2SP signed-note: Ed25519 signatures over the note text."""
TYPE_COSIGNATURE = 0x04
"""C2SP signed-note / tlog-cosignature: timestamped Ed25519 witness cosignatures."""
MAX_SIGNATURES = 16
"""C2SP signed-note: verifiers SHOULD limit signatures and MUST accept at least 16."""

_DASH = "\u2014 "
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")
_HEX_ID = re.compile(r"[0-9a-f]{8}")


class NoteError(LeeridError):
    """A note, key or signature that is malformed or does not verify."""


def key_id(name: str, key_type: int, public_key: bytes) -> int:
    """C2SP signed-note: SHA-256(key name ‖ 0x0A ‖ type ‖ public key)[:4], big-endian."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([key_type]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def check_key_name(name: str, where: str = "key name") -> None:
    """C2SP signed-note: key names are non-empty, without Unicode spaces or ``+``."""
    if not name or any(c.isspace() or c == "+" for c in name) or _CONTROL.search(name):
        raise NoteError(
            f"{where} {name!r}: a key name is non-empty, without spaces, '+' or control "
            "characters (for example 'leerid.example/log')"
        )


def strict_b64decode(text: str, where: str) -> bytes:
    """Standard base64 (RFC 4648 §4) with padding, in its one canonical spelling."""
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        data = None
    if data is None or base64.b64encode(data).decode() != text:
        raise NoteError(f"{where}: {text[:60]!r} is not standard base64 (RFC 4648 §4)")
    return data


@dataclass(frozen=True)
class Signature:
    """One signature line: the key's name, its 32-bit key ID and the signature bytes."""

    name: str
    key_id: int
    signature: bytes

    def line(self) -> str:
        """``— <name> <base64(key ID ‖ signature)>``, without the newline."""
        blob = self.key_id.to_bytes(4, "big") + self.signature
        return f"{_DASH}{self.name} {base64.b64encode(blob).decode()}"

    @classmethod
    def parse_line(cls, line: str, where: str = "signature line") -> Signature:
        """One signature line (without its newline)."""
        if not line.startswith(_DASH):
            raise NoteError(f"{where}: a signature line starts with an em dash and a space")
        parts = line[len(_DASH) :].split(" ")
        if len(parts) != 2:
            raise NoteError(f"{where}: expected '— <key name> <base64>', one space apart")
        check_key_name(parts[0], f"{where}: key name")
        blob = strict_b64decode(parts[1], where)
        if len(blob) < 5:
            raise NoteError(f"{where}: a signature holds a 4-byte key ID and the signature")
        return cls(parts[0], int.from_bytes(blob[:4], "big"), blob[4:])


def check_text(text: str, first_line: int = 1) -> None:
    """C2SP signed-note: no control characters but newline (``NoteError`` names the line)."""
    for number, line in enumerate(text.split("\n"), start=first_line):
        if _CONTROL.search(line):
            raise NoteError(f"line {number}: a note holds no control characters but newline")


@dataclass(frozen=True)
class Note:
    """A note: its text (ending in a newline) and its signatures, in order."""

    text: str
    signatures: tuple[Signature, ...]

    def render(self) -> str:
        """The note as it is sent: text, blank line, one line per signature."""
        return self.text + "\n" + "".join(s.line() + "\n" for s in self.signatures)

    @classmethod
    def parse(cls, note: str | bytes) -> Note:
        """A note's text and signatures, checked for form only (``open_note`` verifies)."""
        note = _utf8(note)
        check_text(note)
        if not note.endswith("\n"):
            raise NoteError(f"line {note.count(chr(10)) + 1}: a note ends with a newline")
        split = note.rfind("\n\n")
        if split < 0:
            raise NoteError("a note has a blank line between its text and its signatures")
        text, block = note[: split + 1], note[split + 2 :]
        first = text.count("\n") + 2
        lines = block[:-1].split("\n") if block else []
        if not text.strip("\n") or not lines:
            raise NoteError(f"line {first}: a note has a text and at least one signature")
        if len(lines) > MAX_SIGNATURES:
            raise NoteError(f"line {first + MAX_SIGNATURES}: more than {MAX_SIGNATURES} signatures")
        signatures = tuple(
            Signature.parse_line(line, f"line {number}")
            for number, line in enumerate(lines, start=first)
        )
        return cls(text, signatures)


def _utf8(note: str | bytes) -> str:
    """C2SP signed-note: a note is valid UTF-8 (``NoteError`` names the line if not)."""
    data = note.encode("utf-8", "surrogatepass") if isinstance(note, str) else note
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise NoteError(f"line {line}: a note is valid UTF-8") from None


def _private_key(private_key: Ed25519PrivateKey | bytes) -> Ed25519PrivateKey:
    if isinstance(private_key, Ed25519PrivateKey):
        return private_key
    if len(private_key) != 32:
        raise NoteError(f"an Ed25519 seed is 32 bytes; got {len(private_key)}")
    return Ed25519PrivateKey.from_private_bytes(private_key)


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


class Ed25519Key:
    """An Ed25519 key with its C2SP name, type, key ID and vkey."""

    key_type = TYPE_ED25519

    def __init__(self, name: str, private_key: Ed25519PrivateKey | bytes) -> None:
        check_key_name(name)
        self.name = name
        self._key = _private_key(private_key)
        self.public_key = _raw(self._key.public_key())
        self.key_id = key_id(name, self.key_type, self.public_key)

    @property
    def vkey(self) -> str:
        """C2SP vkey: ``name+hex(key ID)+base64(type ‖ public key)``."""
        material = base64.b64encode(bytes([self.key_type]) + self.public_key).decode()
        return f"{self.name}+{self.key_id:08x}+{material}"

    def _sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


class Ed25519Signer(Ed25519Key):
    """A key that signs notes (type 0x01), e.g. the log's checkpoints."""

    def sign(self, text: str) -> Signature:
        """The signature line of this key over a note's text (RFC 8032 Ed25519)."""
        if not text.endswith("\n") or not text.strip("\n"):
            raise NoteError("a note's text is not empty and ends with a newline")
        check_text(text)
        return Signature(self.name, self.key_id, self._sign(text.encode()))


def cosignature_message(text: str, timestamp: int) -> bytes:
    """C2SP tlog-cosignature: what a witness signs, the ``cosignature/v1`` and ``time``
    lines followed by the checkpoint's note text."""
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


@dataclass(frozen=True)
class Verifier:
    """A known key from its vkey: type 0x01 verifies note signatures, type 0x04 witness
    cosignatures (over the ``cosignature/v1`` message of C2SP tlog-cosignature)."""

    name: str
    key_id: int
    key_type: int
    public_key: bytes

    @classmethod
    def from_vkey(cls, vkey: str) -> Verifier:
        """C2SP vkey ``<name>+<hex key ID>+<base64(type ‖ key)>``, checked: the key ID must
        be the one the name, type and key give."""
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3:
            raise NoteError(f"verifier key {vkey[:60]!r}: expected <name>+<key ID>+<key>")
        name, hex_id, material = parts
        check_key_name(name, "verifier key name")
        if not _HEX_ID.fullmatch(hex_id):
            raise NoteError(f"verifier key {name}: key ID {hex_id!r} is not 8 lowercase hex")
        raw = strict_b64decode(material, f"verifier key {name}")
        if len(raw) != 33 or raw[0] not in (TYPE_ED25519, TYPE_COSIGNATURE):
            raise NoteError(
                f"verifier key {name}: expected type 0x01 (Ed25519) or 0x04 (Ed25519 "
                "cosignature) and a 32-byte key"
            )
        if key_id(name, raw[0], raw[1:]) != int(hex_id, 16):
            raise NoteError(f"verifier key {name}: key ID {hex_id} does not match the key")
        try:
            Ed25519PublicKey.from_public_bytes(raw[1:])
        except ValueError:
            raise NoteError(f"verifier key {name}: not an Ed25519 public key") from None
        return cls(name, int(hex_id, 16), raw[0], raw[1:])

    def verify_message(self, message: bytes, signature: bytes) -> bool:
        """RFC 8032: whether ``signature`` is this key's Ed25519 signature of ``message``."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def verify(self, text: str, signature: bytes) -> bool:
        """Whether ``signature`` (from a signature line) is this key's over ``text``."""
        if self.key_type == TYPE_ED25519:
            return len(signature) == 64 and self.verify_message(text.encode(), signature)
        if len(signature) != 72:
            return False
        stamp = int.from_bytes(signature[:8], "big")
        message = cosignature_message(text, stamp)
        return stamp < 2**63 and self.verify_message(message, signature[8:])


def open_note(text: str | bytes, verifiers: Iterable[Verifier]) -> Note:
    """C2SP signed-note: the note, if a known key signed it and no known key's signature
    fails; signatures of unknown keys (another name or key ID) are ignored."""
    note = Note.parse(text)
    known: Sequence[Verifier] = list(verifiers)
    first = note.text.count("\n") + 2
    verified = 0
    for number, signature in enumerate(note.signatures, start=first):
        for verifier in known:
            if (verifier.name, verifier.key_id) != (signature.name, signature.key_id):
                continue
            if not verifier.verify(note.text, signature.signature):
                raise NoteError(
                    f"line {number}: the signature of {signature.name} does not verify: "
                    "the note was changed or not signed by this key"
                )
            verified += 1
    if not verified:
        names = ", ".join(sorted({v.name for v in known})) or "none"
        raise NoteError(f"no signature by a known key (known: {names}): the note is not trusted")
    return note
