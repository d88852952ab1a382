"""Benchmark of the service provider's retention purge (art. 3) and login recording.

Fills a fresh provider database with N last-login records, a share of them older than the
protocol's P3Y, then runs the purge in batches of 1,000 while a thread keeps recording
logins; prints purge rows/s, the longest batch (the longest a login could wait behind the
purge's lock) and the logins recorded meanwhile with their worst latency.

    .venv/bin/python bench/sp_retention.py [--pupils 100000] [--inactive 0.5]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

Default database: a SQLite file in a temporary folder. With a PostgreSQL URL the bench uses
a fresh schema ``bench_sp_retention``, dropped afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import threading
import time
import uuid
from pathlib import Path

from figures import latency_line  # bench/figures.py
from sqlalchemy import insert

from leerid.protocol import IsoDuration
from leerid.sp.kit import retention
from leerid.sp.kit.last_login import record_login
from leerid.sp.kit.login_claims import LoginAttributes
from leerid.sp.kit.models import MIGRATIONS, PupilRecord
from leerid.store.engine import make_engine, session_scope, upgrade
from leerid.testing.databases import drop_schema, fresh_schema

SCHEMA = "bench_sp_retention"


def database(url: str | None) -> str:
    if not url:
        return f"sqlite:///{Path(tempfile.mkdtemp()) / 'sp.db'}"
    return fresh_schema(url, SCHEMA)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pupils", type=int, default=100_000)
    parser.add_argument("--inactive", type=float, default=0.5)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    url = database(args.database_url)
    engine = make_engine(url)
    upgrade(engine, migrations=MIGRATIONS)
    now = dt.datetime.now(dt.UTC)
    old = now - dt.timedelta(days=3 * 366 + 10)
    inactive = int(args.pupils * args.inactive)
    started = time.perf_counter()
    rows = [
        {
            "pupil_key": str(uuid.uuid4()),
            "key_kind": "leer_id_uuid",
            "account_uuid": str(uuid.uuid4()),
            "given_name": "Voornaam",
            "family_name": "Naam",
            "orgcodes": "012345",
            "last_login_at": old if i < inactive else now - dt.timedelta(days=i % 1000),
        }
        for i in range(args.pupils)
    ]
    with engine.begin() as conn:
        for i in range(0, len(rows), 10_000):
            conn.execute(insert(PupilRecord), rows[i : i + 10_000])
    print(
        f"backend {engine.dialect.name}: {args.pupils} records, {inactive} inactive, "
        f"filled in {time.perf_counter() - started:.1f} s"
    )

    stop = threading.Event()
    latencies: list[float] = []

    def logins() -> None:
        while not stop.is_set():
            t0 = time.perf_counter()
            with session_scope(engine) as session:
                record_login(
                    session,
                    LoginAttributes(
                        str(uuid.uuid4()), str(uuid.uuid4()), (), ("012345",), "V", "N"
                    ),
                    dt.datetime.now(dt.UTC),
                )
            latencies.append(time.perf_counter() - t0)

    batch_times: list[float] = []
    original = retention.privacy_log.append

    def timed_append(*a, **k):  # type: ignore[no-untyped-def]
        batch_times.append(time.perf_counter())
        return original(*a, **k)

    retention.privacy_log.append = timed_append  # type: ignore[assignment]
    thread = threading.Thread(target=logins)
    thread.start()
    t0 = time.perf_counter()
    result = retention.purge(engine, IsoDuration.parse("P3Y"), now=now)
    elapsed = time.perf_counter() - t0
    stop.set()
    thread.join()
    retention.privacy_log.append = original  # type: ignore[assignment]
    gaps = [b - a for a, b in zip([t0, *batch_times], batch_times, strict=False)]
    print(
        f"purge: {result.count} deleted in {result.batches} batches, {elapsed:.1f} s "
        f"({result.count / elapsed:,.0f} rows/s); longest batch {max(gaps) * 1000:.0f} ms"
    )
    print(latency_line("logins recorded during the purge", latencies))
    engine.dispose()
    if args.database_url:
        drop_schema(args.database_url, SCHEMA)


if __name__ == "__main__":
    main()
