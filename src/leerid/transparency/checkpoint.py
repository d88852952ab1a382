"""C2SP tlog-checkpoint: the signed head of the log at one size.

The note text is the origin (the log's identity), the tree size in decimal without leading
zeroes, the RFC 9162 root hash in standard base64, and optional non-empty extension lines,
each ending in a newline::

    leerid.example/dov-log
    20852163
    CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=

The log signs it as a signed note (``leerid.transparency.note``) under a key named like
the origin; witnesses add their cosignatures (``leerid.transparency.cosignature``).
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

from leerid.transparency.note import (
    TYPE_ED25519,
    Ed25519Signer,
    Note,
    NoteError,
    Verifier,
    check_text,
    open_note,
    strict_b64decode,
)
from leerid.transparency.rfc9162 import HASH_SIZE

__all__ = ["Checkpoint", "open_checkpoint", "sign_checkpoint"]

_SIZE = re.compile(r"0|[1-9][0-9]{0,19}")


@dataclass(frozen=True)
class Checkpoint:
    """The log's origin, tree size and root hash (and extension lines, if any)."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin:
            raise NoteError("a checkpoint's origin is one non-empty line")
        if self.size < 0:
            raise NoteError(f"a checkpoint's size is not negative; got {self.size}")
        if len(self.root) != HASH_SIZE:
            raise NoteError(f"a checkpoint's root is {HASH_SIZE} bytes; got {len(self.root)}")
        if any(not line or "\n" in line for line in self.extensions):
            raise NoteError("a checkpoint's extension lines are each one non-empty line")
        check_text(self.body())

    def body(self) -> str:
        """C2SP tlog-checkpoint: the note text, each line ending in a newline."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        return "".join(line + "\n" for line in [*lines, *self.extensions])

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        """A checkpoint's note text, strictly: ``NoteError`` names the line that is wrong."""
        if not body.endswith("\n"):
            raise NoteError("a checkpoint's text ends with a newline")
        lines = body[:-1].split("\n")
        if len(lines) < 3:
            raise NoteError(
                f"line {len(lines) + 1}: a checkpoint has an origin, a size and a root hash"
            )
        origin, size, root = lines[:3]
        if not origin:
            raise NoteError("line 1: a checkpoint's origin is not empty")
        if not _SIZE.fullmatch(size) or int(size) >= 2**64:
            raise NoteError(
                f"line 2: the tree size {size[:30]!r} is not a decimal number without "
                "leading zeroes"
            )
        digest = strict_b64decode(root, "line 3: the root hash")
        if len(digest) != HASH_SIZE:
            raise NoteError(f"line 3: the root hash is {len(digest)} bytes, not {HASH_SIZE}")
        for number, line in enumerate(lines[3:], start=4):
            if not line:
                raise NoteError(f"line {number}: a checkpoint's extension line is not empty")
        return cls(origin, int(size), digest, tuple(lines[3:]))


def sign_checkpoint(checkpoint: Checkpoint, signer: Ed25519Signer) -> str:
    """The checkpoint as a signed note (C2SP tlog-checkpoint, signed-note)."""
    body = checkpoint.body()
    return Note(body, (signer.sign(body),)).render()


def open_checkpoint(note_text: str | bytes, verifier: Verifier) -> tuple[Checkpoint, Note]:
    """A checkpoint note signed by the log's key ``verifier`` (other signatures, such as
    witness cosignatures, are kept in the note but not checked here)."""
    if verifier.key_type != TYPE_ED25519:
        raise NoteError(
            f"verifier key {verifier.name} is a witness key (type 0x04); a log signs its "
            "checkpoints with an Ed25519 note key (type 0x01)"
        )
    note = open_note(note_text, [verifier])
    return Checkpoint.parse(note.text), note
