"""Art. 6: staff reading pupil files at the same moment each get their own privacy-log entry.

The head row is read ``FOR UPDATE`` before an entry takes the next number. SQLite has no row
locks and its driver begins a transaction only at the first write, so without the engine's
rule (a ``FOR UPDATE`` read on SQLite first takes the database's write lock) two appends read
the same head and the second fails on ``UNIQUE(seq)``: a 500 for the member of staff.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from leerid.sp.kit import privacy_log
from leerid.sp.kit.provider import ServiceProvider

THREADS, EACH = 6, 25


def test_concurrent_appends_each_take_their_own_number(bare_provider: ServiceProvider) -> None:
    engine = bare_provider.engine

    def append_many(worker: int) -> None:
        for i in range(EACH):
            privacy_log.record(
                engine,
                actor=f"clb.{worker}",
                action="inzage",
                purpose="begeleiding",
                detail={"i": i},
            )

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(append_many, range(THREADS)))  # re-raises an IntegrityError
    checked = privacy_log.verify(engine, bare_provider.secrets)
    assert checked.problems == []
    assert checked.entries >= THREADS * EACH
