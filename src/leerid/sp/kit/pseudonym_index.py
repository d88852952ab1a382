"""Which pupil keys in the privacy log have a given pseudonym, without hashing the whole log
on every request (art. 4: the DPO filters and looks up on pseudonyms, never on keys).

A pseudonym is a keyed hash, so finding its keys means hashing the log's keys. The map
pseudonym → keys is kept in this process and extended with the entries written since it was
last read, by entry number: the log is append-only and its head row orders the entries
(art. 6, the hash chain), so an entry number once read never gains a new key. Pruning only
removes entries: a key the map still holds then matches nothing, which is harmless. The map
starts over when the log is not the one it was built from (the entry it ended at is gone or
has another hash).
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from leerid.sp.kit import privacy_log
from leerid.sp.kit.keys import ProviderSecrets
from leerid.sp.kit.models import PrivacyLogEntry, PrivacyLogHead


@dataclass
class _Index:
    """The pseudonyms of the keys in entries 1 to ``seq`` (``seq``'s hash ``last_hash``)."""

    seq: int = 0
    last_hash: str = ""
    names: dict[str, list[str]] = field(default_factory=dict)


_LOCK = threading.Lock()
_INDEXES: weakref.WeakKeyDictionary[Engine, dict[bytes, _Index]] = weakref.WeakKeyDictionary()


def _engine(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def _still_valid(session: Session, index: _Index, head_seq: int) -> bool:
    """The log is the one ``index`` was built from: its last entry is still there, unchanged."""
    if index.seq == 0:
        return True
    if head_seq < index.seq:
        return False
    found = session.scalar(
        select(PrivacyLogEntry.entry_hash).where(PrivacyLogEntry.seq == index.seq)
    )
    return found == index.last_hash


def _caught_up(session: Session, secrets: ProviderSecrets, index: _Index) -> _Index:
    head = session.execute(
        select(PrivacyLogHead.seq, PrivacyLogHead.entry_hash).where(PrivacyLogHead.id == 1)
    ).one_or_none()
    if head is None:
        return _Index()
    if (head.seq, head.entry_hash) == (index.seq, index.last_hash):
        return index
    if not _still_valid(session, index, head.seq):
        index = _Index()
    new_keys = session.scalars(
        select(PrivacyLogEntry.pupil_key)
        .where(
            PrivacyLogEntry.seq > index.seq,
            PrivacyLogEntry.seq <= head.seq,
            PrivacyLogEntry.pupil_key.is_not(None),
        )
        .distinct()
    )
    for key in new_keys:
        if not key:
            continue
        known = index.names.setdefault(privacy_log.pseudonym(secrets, key), [])
        if key not in known:
            known.append(key)
    index.seq, index.last_hash = head.seq, head.entry_hash
    return index


def keys_named(session: Session, secrets: ProviderSecrets, name: str) -> list[str]:
    """Art. 4: the pupil keys in the log whose pseudonym is ``name``; only the keys written
    since the previous call are hashed."""
    with _LOCK:
        per_secret = _INDEXES.setdefault(_engine(session), {})
        index = _caught_up(session, secrets, per_secret.get(secrets.session_key, _Index()))
        per_secret[secrets.session_key] = index
        return sorted(index.names.get(name, ()))
