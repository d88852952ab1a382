"""C2SP tlog-cosignature v1 (Ed25519): a witness's statement on a checkpoint.

The witness signs, with Ed25519, the message::

    cosignature/v1
    time <POSIX seconds, decimal without leading zeroes>
    <the checkpoint's note text>

and adds a note signature line whose bytes are the key ID (SHA-256(name ‖ 0x0A ‖ 0x04 ‖
public key)[:4]), the timestamp as 8 bytes big-endian, then the 64-byte signature. It
states that, at that time, this was the largest consistent tree head the witness had seen
for that origin. Its vkey has type 0x04.
"""

from __future__ import annotations

from leerid.transparency.checkpoint import Checkpoint
from leerid.transparency.note import (
    TYPE_COSIGNATURE,
    Ed25519Key,
    NoteError,
    Signature,
    Verifier,
    cosignature_message,
)

__all__ = ["MAX_TIMESTAMP", "Cosigner", "cosigned_message", "verify_cosignature"]

MAX_TIMESTAMP = 2**63 - 1
"""C2SP tlog-cosignature: the timestamp MUST NOT exceed 2^63 - 1."""


def cosigned_message(checkpoint_body: str, timestamp: int) -> bytes:
    """C2SP tlog-cosignature: the ``cosignature/v1`` and ``time`` lines, then the body."""
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise NoteError(f"a cosignature's time is between 0 and 2^63 - 1; got {timestamp}")
    Checkpoint.parse(checkpoint_body)
    return cosignature_message(checkpoint_body, timestamp)


class Cosigner(Ed25519Key):
    """A witness's key (type 0x04): cosigns checkpoints it found consistent. Built as
    ``Cosigner(name, private_key)`` (an Ed25519 private key or its 32-byte seed)."""

    key_type = TYPE_COSIGNATURE

    def cosign(self, checkpoint_body: str, timestamp: int) -> Signature:
        """The cosignature line's content for a checkpoint at ``timestamp`` (POSIX s)."""
        message = cosigned_message(checkpoint_body, timestamp)
        stamp = timestamp.to_bytes(8, "big")
        return Signature(self.name, self.key_id, stamp + self._sign(message))


def verify_cosignature(signature: Signature, checkpoint_body: str, vkey: str) -> int:
    """The cosignature's timestamp if ``signature`` is the type-0x04 witness key ``vkey``'s
    valid cosignature of the checkpoint; ``NoteError`` saying why not otherwise."""
    verifier = Verifier.from_vkey(vkey)
    if verifier.key_type != TYPE_COSIGNATURE:
        raise NoteError(f"verifier key {verifier.name} is not a witness (type 0x04) key")
    if (signature.name, signature.key_id) != (verifier.name, verifier.key_id):
        raise NoteError(
            f"the cosignature is by {signature.name} ({signature.key_id:08x}), not by "
            f"{verifier.name} ({verifier.key_id:08x})"
        )
    if len(signature.signature) != 72:
        raise NoteError(
            f"a cosignature by {signature.name} is 72 bytes (time and Ed25519 signature); "
            f"got {len(signature.signature)}"
        )
    timestamp = int.from_bytes(signature.signature[:8], "big")
    message = cosigned_message(checkpoint_body, timestamp)
    if not verifier.verify_message(message, signature.signature[8:]):
        raise NoteError(f"the cosignature by {signature.name} does not verify on this checkpoint")
    return timestamp
