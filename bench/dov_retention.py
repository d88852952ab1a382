"""Benchmark of DOV's retention of pupils (art. 3) while pupils log in.

Seeds N pupils through the real importer (generated DISCIMUS files), ends the enrolments of
a third of them more than three years ago, gives a few of the others a password (a
negligible Argon2id cost: the bench measures the database, not the hash) and starts a real
provider (``leerid idp serve``). Logins (password, then SSO with the session cookie) run in
a few threads first alone, then while ``run_retention`` retires the due third and, a grace
period later, deletes them in batches of 1,000. Prints the longest batch, batches/s and
pupils/s, and the logins' p50/p99 before and during.

    .venv/bin/python bench/dov_retention.py [--pupils 100000] [--threads 4] [--seconds 10]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

Default database: a SQLite file in a temporary folder. With a PostgreSQL URL the bench uses
a fresh schema ``bench_dov_retention``, dropped afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import threading
import time
from pathlib import Path

from figures import latency_line  # bench/figures.py
from sqlalchemy import Engine, text

from leerid.idp.login.passwords import Argon2Parameters
from leerid.protocol import load_protocol
from leerid.registry.retention import RetentionCounts, run_retention
from leerid.schema import ACCOUNT_TABLES, upgrade
from leerid.store.engine import make_engine
from leerid.testing import seeding
from leerid.testing.browser import Browser
from leerid.testing.databases import drop_schema, fresh_schema
from leerid.testing.relying_party import RelyingParty
from leerid.testing.servers import start_idp

SCHEMA = "bench_dov_retention"
ROOT = Path(__file__).resolve().parent.parent
PROTOCOL = ROOT / "protocols" / "dov-lars-glce-2024.yaml"
REDIRECT = "http://127.0.0.1/cb"
PASSWORD = "Bench-wachtwoord-2026"
FAST = Argon2Parameters(memory_kib=8, time_cost=1, parallelism=1)
FAST_ENV = {"LEERID_ARGON2_MEMORY_KIB": "8", "LEERID_ARGON2_TIME_COST": "1"}
NOW = dt.datetime.now(dt.UTC)
LONG_AGO = NOW.date() - dt.timedelta(days=3 * 366 + 30)


def database(url: str | None) -> str:
    if not url:
        return f"sqlite:///{Path(tempfile.mkdtemp()) / 'dov.db'}"
    return fresh_schema(url, SCHEMA)


def seed(engine: Engine, pupils: int, threads: int) -> tuple[str, str, list[str]]:
    """The registry (a third due), the protocol, a client and ``threads`` usernames."""
    upgrade(engine)
    with tempfile.TemporaryDirectory(prefix="leerid-bench-") as folder:
        seeding.seed_registry(engine, Path(folder), pupils, seed=7)
    with engine.begin() as conn:  # a third left school more than three years ago
        conn.execute(
            text(
                "UPDATE enrolment SET begindatum = :begin, einddatum = :end WHERE referte IN "
                "(SELECT referte FROM registration WHERE pupil_id % 3 = 0)"
            ),
            {"begin": LONG_AGO - dt.timedelta(days=300), "end": LONG_AGO},
        )
        accounts = list(
            conn.scalars(
                text(
                    "SELECT account_uuid FROM account WHERE status = 'permanent' "
                    "AND pupil_id % 3 = 1 ORDER BY pupil_id LIMIT :n"
                ),
                {"n": threads},
            )
        )
    names = [f"bench.{i}" for i in range(len(accounts))]
    for account_uuid, name in zip(accounts, names, strict=True):
        seeding.give_password(engine, account_uuid, name, PASSWORD, FAST)
    protocol_id = seeding.store_protocol(engine, PROTOCOL)
    client_id, secret = seeding.register_client(
        engine, protocol_id=protocol_id, redirect_uris=[REDIRECT], name="LARS (bench)"
    )
    assert load_protocol(PROTOCOL).id == protocol_id
    return client_id, secret, names


class Logins:
    """Threads that each log one pupil in again and again: a password flow, then SSO flows."""

    def __init__(self, issuer: str, client_id: str, secret: str, names: list[str]) -> None:
        self.issuer, self.client_id, self.secret, self.names = issuer, client_id, secret, names
        self.latencies: list[float] = []
        self.failures = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _loop(self, name: str) -> None:
        rp = RelyingParty(self.issuer, self.client_id, self.secret, REDIRECT)
        browser = Browser()
        flows = 0
        while not self._stop.is_set():
            started = time.perf_counter()
            auth = rp.authorization()
            if flows % 10 == 0:  # every tenth flow a password login, the others SSO
                browser.http.cookies.clear()
            page = browser.open(auth.url)
            if page.status_code == 200:
                page = browser.provider_login(page, name, PASSWORD)
            if page.status_code != 303:
                self.failures += 1
                continue
            tokens = rp.fetch_token(page.headers["location"], auth.verifier)
            if rp.userinfo(tokens["access_token"]).status_code != 200:
                self.failures += 1
            self.latencies.append(time.perf_counter() - started)
            flows += 1

    def run(self) -> None:
        self._threads = [threading.Thread(target=self._loop, args=(n,)) for n in self.names]
        for thread in self._threads:
            thread.start()

    def stop(self) -> list[float]:
        self._stop.set()
        for thread in self._threads:
            thread.join()
        if self.failures:
            print(f"{self.failures} login flows failed")
        return self.latencies


def timed(engine: Engine, now: dt.datetime) -> tuple[RetentionCounts, float]:
    started = time.perf_counter()
    counts = run_retention(engine, now=now, account_tables=ACCOUNT_TABLES)
    return counts, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pupils", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    url = database(args.database_url)
    engine = make_engine(url)
    started = time.perf_counter()
    client_id, secret, names = seed(engine, args.pupils, args.threads)
    print(
        f"backend {engine.dialect.name}: {args.pupils} pupils seeded in "
        f"{time.perf_counter() - started:.0f} s, a third due"
    )
    server = start_idp(url, env=FAST_ENV, workers=1)
    try:
        before = Logins(server.issuer, client_id, secret, names)
        before.run()
        time.sleep(args.seconds)
        print(latency_line("logins before", before.stop(), args.seconds))
        during = Logins(server.issuer, client_id, secret, names)
        during.run()
        t0 = time.perf_counter()
        retire, retire_s = timed(engine, NOW)
        delete, delete_s = timed(engine, NOW + dt.timedelta(days=31))
        elapsed = time.perf_counter() - t0
        print(latency_line("logins during", during.stop(), elapsed))
    finally:
        server.stop()
    for label, counts, seconds in (("retire", retire, retire_s), ("delete", delete, delete_s)):
        pupils = counts.retired if label == "retire" else counts.deleted
        print(
            f"{label}: {pupils} pupils in {counts.transactions} batches, {seconds:.1f} s "
            f"({counts.transactions / seconds:.1f} batches/s, {pupils / seconds:,.0f} pupils/s); "
            f"longest batch {counts.longest_batch_ms:.0f} ms"
        )
    engine.dispose()
    if args.database_url:
        drop_schema(args.database_url, SCHEMA)


if __name__ == "__main__":
    main()
