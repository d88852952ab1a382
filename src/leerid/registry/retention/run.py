"""``leerid registry retention``: retire due pupils, then revive or delete the retired ones.

Every step is a batch of at most ``batch`` pupils in its own short transaction, never a
table lock: on PostgreSQL the batch locks its pupils' rows (``FOR UPDATE SKIP LOCKED``, so
two runs share the work) and so waits while an import holds the pupil table (at most the
lock timeout, then it stops cleanly: what was done is kept, the rest is done by the next
run); on SQLite the batch holds the write lock (``BEGIN IMMEDIATE``) as any writer does.
Inside the lock the facts are read again and ``rule.decide`` decides, so an enrolment an
import wrote a moment before is always seen. Logins only read the registry: a batch never
makes one wait on PostgreSQL, and on SQLite no longer than the batch (measured by
``bench/dov_retention.py``).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass

from sqlalchemy import Connection, Engine, Table, update
from sqlalchemy.exc import OperationalError

from leerid.errors import StorageError
from leerid.registry.models import Pupil
from leerid.registry.retention.queries import (
    delete_pupils,
    load_facts,
    lock_pupils,
    retire_candidates,
    retired_pupils,
)
from leerid.registry.retention.rule import RetentionPolicy, Verdict, decide
from leerid.store.transactions import write_transaction

__all__ = ["BATCH", "RetentionCounts", "run_retention"]

BATCH = 1000
"""Pupils per transaction, as the recipient's retention (art. 3): a short lock."""

Hook = Callable[[], None]


@dataclass
class RetentionCounts:
    """What a run did (or, in a dry run, would do), per stage."""

    retired: int = 0
    revived: int = 0
    waiting: int = 0
    deleted: int = 0
    accounts_deleted: int = 0
    transactions: int = 0
    longest_batch_ms: float = 0.0
    dry_run: bool = False

    def as_json(self) -> dict[str, object]:
        data: dict[str, object] = asdict(self)
        data["longest_batch_ms"] = round(self.longest_batch_ms, 1)
        return data

    def timed(self, started: float) -> float:
        """Count a batch that began at ``started``; its duration in seconds."""
        took = time.perf_counter() - started
        self.transactions += 1
        self.longest_batch_ms = max(self.longest_batch_ms, took * 1e3)
        return took


@dataclass(frozen=True)
class _Run:
    engine: Engine
    policy: RetentionPolicy
    now: dt.datetime
    batch: int
    dry_run: bool
    account_tables: Sequence[Table]
    during_batch: Hook | None

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        if self.dry_run:  # reads only, rolled back
            with self.engine.connect() as conn:
                yield conn
        else:
            with write_transaction(self.engine) as conn:
                yield conn
                if self.during_batch is not None:
                    self.during_batch()

    def breathe(self, took: float) -> None:
        """SQLite: pause as long as the batch held the write lock, so that the logins
        waiting for it (their busy handler polls) get it before the next batch does."""
        if not self.dry_run and self.engine.dialect.name == "sqlite":
            time.sleep(min(took, 1.0))

    def retired_pass(self, counts: RetentionCounts) -> None:
        """Retired pupils: revive those no longer due, delete those whose grace is over."""
        lock = not self.dry_run and self.engine.dialect.name == "postgresql"
        after = 0
        while True:
            started = time.perf_counter()
            with self.transaction() as conn:
                ids: list[int] = list(conn.scalars(retired_pupils(after, self.batch, lock=lock)))
                verdicts = {
                    pid: decide(facts, self.now, self.policy)
                    for pid, facts in load_facts(conn, ids).items()
                }
                revive = sorted(p for p, v in verdicts.items() if v is Verdict.REVIVE)
                gone = sorted(p for p, v in verdicts.items() if v is Verdict.DELETE)
                if not self.dry_run:
                    if revive:
                        conn.execute(
                            update(Pupil).where(Pupil.id.in_(revive)).values(retired_at=None)
                        )
                    counts.accounts_deleted += delete_pupils(conn, gone, self.account_tables)
            self.breathe(counts.timed(started))
            counts.revived += len(revive)
            counts.deleted += len(gone)
            counts.waiting += sum(v is Verdict.WAIT for v in verdicts.values())
            if len(ids) < self.batch:
                return
            after = ids[-1]

    def retire_pass(self, counts: RetentionCounts) -> None:
        """Active pupils the rule finds due: retired now (no login, no disclosure)."""
        after = 0
        while True:
            with self.engine.connect() as conn:  # the search reads without a lock
                candidates: list[int] = list(
                    conn.scalars(retire_candidates(self.policy, self.now, after, self.batch))
                )
            if not candidates:
                return
            started = time.perf_counter()
            with self.transaction() as conn:
                held = candidates if self.dry_run else lock_pupils(conn, candidates)
                due = sorted(
                    pid
                    for pid, facts in load_facts(conn, held).items()
                    if decide(facts, self.now, self.policy) is Verdict.RETIRE
                )
                if due and not self.dry_run:
                    conn.execute(
                        update(Pupil)
                        .where(Pupil.id.in_(due), Pupil.retired_at.is_(None))
                        .values(retired_at=self.now)
                    )
            self.breathe(counts.timed(started))
            counts.retired += len(due)
            if len(candidates) < self.batch:
                return
            after = candidates[-1]


def run_retention(
    engine: Engine,
    policy: RetentionPolicy | None = None,
    *,
    now: dt.datetime | None = None,
    batch: int = BATCH,
    dry_run: bool = False,
    account_tables: Sequence[Table] = (),
    during_batch: Hook | None = None,
) -> RetentionCounts:
    """Art. 3, DOV's side: revive or delete the retired pupils, then retire the due ones.

    ``account_tables``: the provider's tables whose rows go with a deleted account
    (``leerid.schema.ACCOUNT_TABLES``). ``during_batch`` runs inside each writing batch's
    transaction before it commits (the bench and the tests measure what waits meanwhile).
    """
    if not 1 <= batch <= BATCH:
        raise ValueError(f"batch must be 1 to {BATCH}")
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)  # SQLite keeps no offset
    run = _Run(
        engine, policy or RetentionPolicy(), now, batch, dry_run, account_tables, during_batch
    )
    counts = RetentionCounts(dry_run=dry_run)
    try:
        run.retired_pass(counts)  # first: a pupil retired by this run waits its grace period
        run.retire_pass(counts)
    except OperationalError as exc:
        raise StorageError(
            "the retention run stopped: the registry stayed locked (an import or a merge "
            f"is running?) or could not be reached ({type(exc.orig).__name__}). The batches "
            f"done so far are kept ({counts.retired} retired, {counts.revived} revived, "
            f"{counts.deleted} deleted); run `leerid registry retention` again later."
        ) from None
    return counts
