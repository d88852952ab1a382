"""The pupil as DOV's DPO sees it: a pseudonym, not the key (art. 4: only who needs the data
sees it; the DPO supervises the processing and does not handle pupils' files)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from sqlalchemy import Engine

from leerid.idp.store.tlog.append import pupil_secret

__all__ = ["dpo_pseudonyms"]

_CONTEXT = b"leerid.beheer.dpo-pseudonym.v1"
_HEX = 16


def dpo_pseudonyms(engine: Engine, keys: Iterable[str | None]) -> dict[str, str]:
    """Each pupil key's pseudonym: HMAC-SHA-256 under a key derived from DOV's pupil secret,
    16 hex digits: stable (one pupil can be followed across reports), not reversible."""
    derived = hmac.new(pupil_secret(engine), _CONTEXT, hashlib.sha256).digest()
    return {
        key: "psn-" + hmac.new(derived, key.lower().encode(), hashlib.sha256).hexdigest()[:_HEX]
        for key in keys
        if key
    }
