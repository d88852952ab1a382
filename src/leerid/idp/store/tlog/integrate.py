"""Issue 12 §6: pending entries integrated into the tree, in batches, in one transaction each.

An append (``append.append_entry``) only inserts a row: ``seq`` comes from the database and
``idx`` stays empty. The elected node (``lease``) then, in ONE transaction per batch:

1. locks the state row (``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite a write to the row
   takes the database's write lock), so two integrators take turns;
2. reads up to ``batch`` pending rows (``idx IS NULL ORDER BY seq``) and the tiles of the
   tree's right edge (``tiles.right_edge``);
3. gives the rows ``idx = size, size + 1, …`` (``UNIQUE(idx)`` refuses an index twice),
   computes the changed tiles and the new root (``tiles.append_leaves``, RFC 9162 §2.1.1
   hashing, C2SP tlog-tiles layout), upserts them and updates the state;
4. signs and stores a checkpoint of the new size (``checkpoints.store_checkpoint``) when the
   tree is larger than the newest checkpoint and that one is at least ``checkpoint_every``
   seconds old (issue 12 §2: every second while entries arrive, none while idle), after
   checking, under the same lock, that the newest checkpoint has this signer's origin: a
   node that loaded its key before another node signed the first checkpoint under another
   origin must not start a second log (C2SP tlog-checkpoint: the origin names one log).
   Otherwise ``OriginMismatchError`` and the whole batch rolls back.
5. counts the batch's ``disclosure`` entries per client and day and per hour (issue 13,
   ``console.disclosure_counts``): each entry is integrated once, so counted once; while the
   counts were never rebuilt (after the migration) it first rebuilds them from the records.

Entries are in the tree in the order their transactions committed, not in ``seq`` order;
``idx`` is the order that counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, bindparam, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from leerid.errors import ConfigurationError
from leerid.idp.store.console.disclosure_counts import (
    Rebuilt,
    count_entries,
    needs_rebuild,
    rebuild_counts,
)
from leerid.idp.store.tlog.checkpoints import due_checkpoint, newest_checkpoint, store_checkpoint
from leerid.idp.store.tlog.lease import database_now
from leerid.idp.store.tlog.tables import TlogEntry, TlogState, TlogTile
from leerid.idp.store.tlog.tree import read_tiles
from leerid.transparency.note import Ed25519Signer
from leerid.transparency.tiles import TileKey, append_leaves, right_edge

__all__ = [
    "BATCH",
    "Integration",
    "OriginMismatchError",
    "integrate_once",
    "integrate_pending",
    "rebuild_disclosure_counts",
]

BATCH = 4096
"""Entries per transaction: a backlog is worked off in batches of this many."""


@dataclass(frozen=True)
class Integration:
    """What one or more batches did."""

    integrated: int
    """Entries given an index."""
    size: int
    root: bytes
    checkpoint: int | None
    """The size of the newest checkpoint signed on the way (None: none signed)."""


class OriginMismatchError(ConfigurationError):
    """This node would sign under another origin than the log's checkpoints have."""


def _check_origin(conn: Connection, signer: Ed25519Signer) -> None:
    """C2SP tlog-checkpoint: every checkpoint of a log has its origin; refuse another."""
    newest = newest_checkpoint(conn)
    if newest is not None and newest.origin != signer.name:
        raise OriginMismatchError(
            f"this node would sign checkpoints as {signer.name!r}, but the log's checkpoints "
            f"are of {newest.origin!r}; nothing integrated or signed. A log's origin never "
            "changes: give every node the same LEERID_ISSUER (or LEERID_TLOG_ORIGIN="
            f"{newest.origin})"
        )


def _lock_state(conn: Connection) -> tuple[int, bytes]:
    """The state row, locked until the end of the transaction."""
    if conn.dialect.name != "postgresql":  # SQLite: take the write lock before reading
        conn.execute(text("UPDATE idp_tlog_state SET size = size WHERE id = 1"))
    size, root = conn.execute(
        select(TlogState.size, TlogState.root).where(TlogState.id == 1).with_for_update()
    ).one()
    return int(size), bytes(root)


def _give_indexes(conn: Connection, seqs: Sequence[int], first: int) -> None:
    """``idx = first, first + 1, …`` for the rows ``seqs`` (one statement on PostgreSQL)."""
    indexes = list(range(first, first + len(seqs)))
    if conn.dialect.name == "postgresql":
        conn.execute(
            text(
                "UPDATE idp_tlog_entry AS e SET idx = v.idx FROM unnest("
                "CAST(:seqs AS bigint[]), CAST(:idxs AS bigint[])) AS v(seq, idx) "
                "WHERE e.seq = v.seq"
            ),
            {"seqs": list(seqs), "idxs": indexes},
        )
        return
    conn.execute(
        update(TlogEntry).where(TlogEntry.seq == bindparam("s")).values(idx=bindparam("i")),
        [{"s": s, "i": i} for s, i in zip(seqs, indexes, strict=True)],
    )


def _store_tiles(conn: Connection, tiles: Mapping[TileKey, bytes]) -> None:
    """Insert or overwrite the changed tiles (a partial tile's row grows in place)."""
    if not tiles:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(TlogTile)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[TlogTile.level, TlogTile.idx],
            set_={"hashes": statement.excluded.hashes},
        ),
        [{"level": level, "idx": idx, "hashes": hashes} for (level, idx), hashes in tiles.items()],
    )


def integrate_once(
    engine: Engine, signer: Ed25519Signer, *, batch: int = BATCH, checkpoint_every: float = 1.0
) -> Integration:
    """Issue 12 §6: one batch of pending entries into the tree, in one transaction, and a
    checkpoint when one is due (see the module's docstring)."""
    with engine.begin() as conn:
        size, root = _lock_state(conn)
        now = database_now(conn)
        if needs_rebuild(conn):  # issue 13: once, before this batch is counted
            rebuild_counts(conn, size, now)
        pending = conn.execute(
            select(TlogEntry.seq, TlogEntry.leaf_hash, TlogEntry.body)
            .where(TlogEntry.idx.is_(None))
            .order_by(TlogEntry.seq)
            .limit(batch)
        ).all()
        if pending:
            edge = read_tiles(conn, right_edge(size))
            tiles, root = append_leaves(size, edge, [bytes(row.leaf_hash) for row in pending])
            _give_indexes(conn, [row.seq for row in pending], size)
            _store_tiles(conn, tiles)
            count_entries(conn, (bytes(row.body) for row in pending))
            size += len(pending)
            conn.execute(
                update(TlogState)
                .where(TlogState.id == 1)
                .values(size=size, root=root, integrated_at=now)
            )
        signed = None
        if due_checkpoint(conn, size, now, checkpoint_every):
            _check_origin(conn, signer)  # raised: the batch's indexes roll back too
            store_checkpoint(conn, signer, size, bytes(root), now)
            signed = size
    return Integration(len(pending), size, bytes(root), signed)


def integrate_pending(
    engine: Engine, signer: Ed25519Signer, *, batch: int = BATCH, checkpoint_every: float = 1.0
) -> Integration:
    """Batches until no entry is pending (a backlog after an outage: a few thousand per
    transaction, so appends never wait long for the state row)."""
    done = integrate_once(engine, signer, batch=batch, checkpoint_every=checkpoint_every)
    total, signed = done.integrated, done.checkpoint
    while done.integrated == batch:
        done = integrate_once(engine, signer, batch=batch, checkpoint_every=checkpoint_every)
        total += done.integrated
        signed = done.checkpoint or signed
    return Integration(total, done.size, done.root, signed)


def rebuild_disclosure_counts(engine: Engine) -> Rebuilt:
    """Issue 13: recount the disclosures per day and hour from the records, under the state
    row's lock (no batch is integrated meanwhile, so none is counted twice or lost)."""
    with engine.begin() as conn:
        size, _ = _lock_state(conn)
        return rebuild_counts(conn, size, database_now(conn))
