"""Entries appended as the provider's append does (a plain INSERT, ``idx`` left empty), the
log's key, and readers of what the integrator wrote: for the tests of DOV's log."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import Engine, insert, select, text

from leerid.idp.store.tlog.checkpoints import log_signer
from leerid.idp.store.tlog.tables import TlogEntry
from leerid.transparency.entries import disclosure_entry
from leerid.transparency.note import Ed25519Signer

ORIGIN = "leerid.test/op/log"


def entry_bodies(count: int) -> list[bytes]:
    """``count`` disclosure entries (canonical JSON, a pseudonym for the pupil)."""
    secret = secrets.token_bytes(32)
    return [
        disclosure_entry(
            at=dt.datetime.now(dt.UTC),
            client_id="lars-test",
            endpoint="token",
            protocol_id="dov-lars-glce-2024",
            protocol_hash="sha256-test",
            claims=["ov_leerid_uuid", "sub"],
            outcome="released",
            reason=None,
            pupil_secret=secret,
            pupil_identifier=f"account-{n}",
        ).encode()
        for n in range(count)
    ]


def append(engine: Engine, count: int) -> list[bytes]:
    """Insert ``count`` new entries as the append does; their bodies, in insertion order."""
    from leerid.transparency.rfc9162 import leaf_hash

    bodies = entry_bodies(count)
    if bodies:
        with engine.begin() as conn:
            conn.execute(
                insert(TlogEntry), [{"body": b, "leaf_hash": leaf_hash(b)} for b in bodies]
            )
    return bodies


def signer(engine: Engine) -> Ed25519Signer:
    """The log key of the test database, under the tests' origin."""
    return log_signer(engine, ORIGIN)


def leaves_by_index(engine: Engine) -> list[tuple[int, bytes]]:
    """(idx, leaf hash) of every integrated entry, by idx."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(TlogEntry.idx, TlogEntry.leaf_hash)
            .where(TlogEntry.idx.is_not(None))
            .order_by(TlogEntry.idx)
        ).all()
    return [(int(i), bytes(leaf)) for i, leaf in rows]


def pending(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(text("SELECT count(*) FROM idp_tlog_entry WHERE idx IS NULL")).scalar_one()
        )
