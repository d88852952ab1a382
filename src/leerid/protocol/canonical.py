"""The canonical JSON form of a protocol and its content hash.

Every disclosure can name the exact protocol version it was made under by this hash. The
canonical form is the validated model as JSON with sorted keys, no insignificant white
space and UTF-8 text: two files that differ only in layout, comments or key order have the
same hash; any change of content gives another one.
"""

from __future__ import annotations

import hashlib
import json

from leerid.protocol.model import Protocol


def canonical_json(protocol: Protocol) -> str:
    """The protocol as canonical JSON (sorted keys, compact, UTF-8 text, no ASCII escapes)."""
    return json.dumps(
        protocol.model_dump(mode="json"),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def content_hash(protocol: Protocol) -> str:
    """SHA-256 (hex) of ``canonical_json(protocol)`` encoded as UTF-8."""
    return hashlib.sha256(canonical_json(protocol).encode("utf-8")).hexdigest()


def from_canonical_json(text: str) -> Protocol:
    """The protocol back from its canonical JSON (as stored in the database)."""
    return Protocol.model_validate_json(text)
