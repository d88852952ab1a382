"""Benchmark: DOV's transparency log on PostgreSQL (issue 12), each part in a fresh schema.

1. ``appends``: disclosures written as the hot path writes them (``write_disclosure``: the
   record and its entry in one statement) while the provider's ``Integrator`` runs; then
   ``leerid log verify``.
2. ``proofs``: C2SP tiles of 10 million leaves, proofs through ``stored_tree`` and HTTP.
3. ``sso``: ``bench/login_flow.py``'s ``sso`` scenario, log on vs writing nothing (a trigger
   dropping each row: PostgreSQL refuses a ``DO INSTEAD NOTHING`` rule on a table written in
   a ``WITH`` clause, as the hot path does). docs/transparency-log.md, "Figures".
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import datetime as dt
import functools
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import login_flow as flow  # bench/login_flow.py: seeding, the SSO scenario, CPU, HTTP
from sqlalchemy import Connection, Engine, insert, text

from leerid.idp.store.disclosures import DisclosureEntry, write_disclosure
from leerid.idp.store.tlog.append import entry_row, pupil_secret
from leerid.idp.store.tlog.checkpoints import log_signer, store_checkpoint
from leerid.idp.store.tlog.integrator import Integrator
from leerid.idp.store.tlog.lease import database_now
from leerid.idp.store.tlog.tables import TlogEntry
from leerid.idp.store.tlog.tree import stored_tree
from leerid.schema import upgrade
from leerid.store.engine import make_engine
from leerid.testing.databases import fresh_schema
from leerid.transparency.receipt import from_b64url
from leerid.transparency.rfc9162 import root_from_leaves, verify_consistency, verify_inclusion
from leerid.transparency.tiles import TILE_WIDTH, TileKey, append_leaves, right_edge

ORIGIN = "bench.leerid.test/op/log"
BATCH = 1 << 20
CPU = (flow.own_cpu, lambda: flow.process_tree_cpu(os.getpid()), flow.postgres_cpu)
"""CPU seconds of this process, of it and its children (the writers), of every postgres."""
TILE_BYTES = TILE_WIDTH * 32
AUTOCOMMIT: dict[str, Any] = dict(pool_pre_ping=False, isolation_level="AUTOCOMMIT", pool_size=64)
"""Connections as the provider's hot path has them: one statement, one round trip."""


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def ms(values: list[float], label: str) -> str:
    """``label``: how many, p50/p95/p99/max in milliseconds."""
    v = sorted(values) or [float("nan")]
    p = " / ".join(f"{v[min(len(v) - 1, int(q * len(v)))] * 1e3:.2f}" for q in (0.5, 0.95, 0.99, 1))
    return f"   {label:<34} n={len(values):>6}  p50/p95/p99/max {p} ms"


def a_disclosure() -> DisclosureEntry:
    """A userinfo release as the provider records it (a random account each time)."""
    claims = ("family_name", "given_name", "leer_id_uuid", "school")
    return DisclosureEntry(
        "bench-lars", "userinfo", claims, "dov-lars-glce-2024", "0" * 64, None, str(uuid.uuid4())
    )


def writer(url: str, args: argparse.Namespace, start: Any, out: Any) -> None:
    """A writer process: ``--connections`` threads, each appending on its own connection for
    ``--duration`` s from the common start; sends back each (leaf, time it returned)."""
    engine = make_engine(url, **AUTOCOMMIT)
    secret, done = pupil_secret(engine), []

    def append_until() -> None:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
            start.wait()
            deadline = time.time() + args.duration
            while time.time() < deadline:
                leaf = write_disclosure(conn, engine, a_disclosure(), secret)
                done.append((leaf, time.time()))

    threads = [threading.Thread(target=append_until) for _ in range(args.connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put(done)


class Poller(threading.Thread):
    """Every 20 ms: (time, integrated size, newest checkpoint's size)."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(daemon=True)
        self.engine, self.samples, self.stopping = engine, [(time.time(), 0, 0)], threading.Event()

    def run(self) -> None:
        q = "SELECT size, (SELECT coalesce(max(size), 0) FROM idp_tlog_checkpoint)"
        with self.engine.connect() as conn:
            while not self.stopping.wait(0.02):
                size, signed = conn.exec_driver_sql(f"{q} FROM idp_tlog_state").one()
                self.samples.append((time.time(), int(size), int(signed)))

    def at(self, moment: float) -> tuple[float, int, int]:
        return self.samples[max(0, bisect.bisect([s[0] for s in self.samples], moment) - 1)]

    def drain(self, total: int, since: float) -> float:
        """Wait (≤ 120 s) until a checkpoint holds ``total`` entries: when, after ``since``."""
        while self.samples[-1][2] < total and time.time() - since < 120:
            time.sleep(0.05)
        self.stopping.set()
        return next((s[0] for s in self.samples if s[2] >= total), float("nan")) - since


def run_writers(url: str, args: argparse.Namespace) -> tuple[list[tuple[bytes, float]], float, str]:
    """The writers, started together: every (leaf, time), the start and the CPU spent."""
    mp = multiprocessing.get_context("spawn")
    start, out = mp.Barrier(args.writers * args.connections + 1), mp.Queue()
    workers = [mp.Process(target=writer, args=(url, args, start, out)) for _ in range(args.writers)]
    for worker in workers:
        worker.start()
    start.wait()
    began, before = time.time(), [f() for f in CPU]
    time.sleep(max(0.0, began + args.duration - time.time()))
    me, tree, pg = (f() - b for f, b in zip(CPU, before, strict=True))
    done = [pair for _ in workers for pair in out.get()]
    for worker in workers:
        worker.join()
    return done, began, f"CPU s: writers {tree - me:.1f}, integrator {me:.1f}, postgres {pg:.1f}"


def appends(args: argparse.Namespace) -> None:
    print(f"\n1. appends: {args.writers} processes x {args.connections} connections ({load()})")
    url = fresh_schema(args.database_url, "bench_tlog_appends")
    engine = make_engine(url)
    upgrade(engine)
    integrator = Integrator(engine, ORIGIN, origin_set=True, interval=1.0, lease=5.0)
    poller = Poller(make_engine(url, **AUTOCOMMIT))
    integrator.signer()  # the key is made before the clock runs
    integrator.start()
    poller.start()
    done, began, spent = run_writers(url, args)
    ended, at_end = began + args.duration, load()
    drained = poller.drain(len(done), ended)
    integrator.stop()
    integrated = poller.at(ended)[1] - poller.at(began)[1]
    backlog = sum(1 for _, at in done if at <= ended) - poller.at(ended)[1]
    signed = len({s[2] for s in poller.samples if began <= s[0] <= ended} - {poller.at(began)[2]})
    print(
        f"   appended {len(done) / args.duration:,.0f}/s ({len(done)}), integrated "
        f"{integrated / args.duration:,.0f}/s, {signed} checkpoints signed, backlog at the end "
        f"{backlog} (all in a checkpoint {drained:.1f} s later); {spent}; {at_end}"
    )
    with engine.connect() as conn:  # each append's return → the first checkpoint holding it
        index = dict(conn.exec_driver_sql("SELECT leaf_hash, idx FROM idp_tlog_entry").all())
    sizes = [s[2] for s in poller.samples]
    waits = [poller.samples[bisect.bisect_right(sizes, index[h])][0] - at for h, at in done]
    print(ms([max(0.0, w) for w in waits], "append → in a readable checkpoint"))
    env = {**os.environ, "LEERID_DATABASE_URL": url, "LEERID_TLOG_ORIGIN": ORIGIN}
    command = [sys.executable, "-m", "leerid.cli.main", "log", "verify", "--json"]
    began = time.perf_counter()
    run = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - began
    if run.returncode != 0:
        raise SystemExit(f"leerid log verify: exit {run.returncode}\n{run.stdout}{run.stderr}")
    audit = json.loads(run.stdout)
    print(
        f"   leerid log verify: exit 0, {audit['entries']} entries, {audit['tiles']} tiles, "
        f"{audit['checkpoints']} checkpoints in {took:.1f} s ({load()})"
    )


def copy_tiles(conn: Connection, tiles: Iterable[tuple[TileKey, bytes]]) -> None:
    driver = conn.connection.driver_connection
    assert driver is not None
    with (
        driver.cursor() as cursor,
        cursor.copy("COPY idp_tlog_tile (level, idx, hashes) FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.set_types(["int2", "int8", "bytea"])
        for (level, idx), hashes in tiles:
            copy.write_row((level, idx, hashes))


def build_tree(conn: Connection, size: int, sampled: dict[int, bytes]) -> tuple[bytes, bytes]:
    """The tiles of ``size`` random leaves (``sampled``: index → a real entry's leaf), each
    written with COPY once it is full; the root and the first batch's leaves."""
    partial: dict[TileKey, bytes] = {}
    first, root, done, keys = b"", b"", 0, sorted(sampled)
    while done < size:
        count = min(BATCH, size - done)
        leaves = bytearray(os.urandom(32 * count))
        for index in keys[bisect.bisect_left(keys, done) : bisect.bisect_left(keys, done + count)]:
            leaves[(index - done) * 32 : (index - done + 1) * 32] = sampled[index]
        rows = [bytes(leaves[i : i + 32]) for i in range(0, len(leaves), 32)]
        changed, root = append_leaves(done, {k: partial[k] for k in right_edge(done)}, rows)
        first = first or bytes(leaves[: 32 * 4096])
        copy_tiles(conn, ((k, h) for k, h in changed.items() if len(h) == TILE_BYTES))
        partial = {k: h for k, h in {**partial, **changed}.items() if len(h) < TILE_BYTES}
        done += count
    copy_tiles(conn, partial.items())
    return root, first


def seed_tree(url: str, size: int, indexes: list[int]) -> tuple[bytes, bytes, dict[int, bytes]]:
    """The tree, the entries at ``indexes``, the state row and one signed checkpoint."""
    engine = make_engine(url)
    upgrade(engine)
    secret, now = pupil_secret(engine), dt.datetime.now(dt.UTC)
    rows = {i: entry_row(a_disclosure().log_entry(secret, now)) for i in indexes}
    sampled = {i: bytes(row["leaf_hash"]) for i, row in rows.items()}
    began = time.perf_counter()
    with engine.begin() as conn:
        root, first = build_tree(conn, size, sampled)
        conn.execute(insert(TlogEntry), [{**row, "idx": i} for i, row in rows.items()])
        state = text("UPDATE idp_tlog_state SET size = :s, root = :r WHERE id = 1")
        conn.execute(state, {"s": size, "r": root})
        store_checkpoint(conn, log_signer(engine, ORIGIN), size, root, database_now(conn))
        conn.exec_driver_sql("ANALYZE idp_tlog_tile")
        mb = conn.exec_driver_sql("SELECT pg_total_relation_size('idp_tlog_tile') / 1e6").scalar()
    built = time.perf_counter() - began
    print(
        f"   built {size:,} leaves: tiles of {mb:,.0f} MB in {built:.0f} s "
        f"({size / built:,.0f} leaves/s, written with COPY, then ANALYZE; {load()})"
    )
    engine.dispose()
    return root, first, sampled


def timed(label: str, call: Callable[[int], Any], keys: list[int]) -> list[Any]:
    spent, answers = [], []
    for key in keys:
        began = time.perf_counter()
        answers.append(call(key))
        spent.append(time.perf_counter() - began)
    print(ms(spent, label))
    return answers


def old_roots(url: str, size: int, root: bytes, first: bytes, olds: list[int]) -> dict[int, bytes]:
    """The roots at every tenth old size, from the tiles; and 20 consistency proofs from
    sizes within the first batch checked against roots computed from the leaves themselves."""
    with make_engine(url, **AUTOCOMMIT).connect() as conn:
        tree = stored_tree(conn, size)
        leaves = [first[i : i + 32] for i in range(0, len(first), 32)]
        for m in random.Random(size).sample(range(1, len(leaves) + 1), 20):
            old = root_from_leaves(leaves[:m])
            verify_consistency(m, size, old, root, tree.consistency_proof(m))
        return {m: tree.root_at(m) for m in olds[::10]}


def over_http(base: str, size: int) -> tuple[Callable[[int], Any], Callable[[int], Any]]:
    """``GET /op/v1/log/proof/inclusion`` and ``…/consistency`` on one keep-alive connection,
    each answer's proof decoded."""
    host, port = base.removeprefix("http://").split(":")
    http, loop = flow.RawHttp(host, int(port)), asyncio.new_event_loop()

    def get(target: str) -> list[bytes]:
        answer = loop.run_until_complete(http.get(f"/op/v1/log/proof/{target}"))
        if answer.status != 200:
            raise SystemExit(f"GET {target}: {answer.status} {answer.text[:300]}")
        return [from_b64url(h) for h in answer.json()["proof"]]

    return (
        lambda i: get(f"inclusion?index={i}&size={size}"),
        lambda m: get(f"consistency?first={m}&second={size}"),
    )


def proofs_at_size(args: argparse.Namespace) -> None:
    print(f"\n2. proofs at {args.size:,} entries ({load()})")
    url, size = fresh_schema(args.database_url, "bench_tlog_proofs"), args.size
    chance = random.Random(12)
    indexes = chance.sample(range(size), args.proofs)
    olds = [chance.randint(1, size) for _ in indexes]
    root, first, leaves = seed_tree(url, size, indexes)
    with make_engine(url, **AUTOCOMMIT).connect() as conn:  # stored_tree: what endpoints call
        tree = functools.partial(stored_tree, conn)
        inc = [timed("stored_tree inclusion_proof", lambda i: tree().inclusion_proof(i), indexes)]
        con = [timed("stored_tree consistency_proof", lambda m: tree().consistency_proof(m), olds)]
    server = flow.start_server(
        url, args.workers, {**flow.FAST_ARGON2, "LEERID_TLOG_ORIGIN": ORIGIN}
    )
    try:
        print(f"   over HTTP, leerid idp serve --workers {args.workers} ({load()}):")
        by_index, by_size = over_http(server.base_url, size)
        inc.append(timed("GET /op/v1/log/proof/inclusion", by_index, indexes))
        con.append(timed("GET /op/v1/log/proof/consistency", by_size, olds))
    finally:
        server.stop()
    roots = old_roots(url, size, root, first, olds)
    for paths in inc:  # RFC 9162 §2.1.3.2, with the leaf hash of the entry written
        for index, path in list(zip(indexes, paths, strict=True))[::10]:
            verify_inclusion(leaves[index], index, size, path, root)
    for paths in con:  # RFC 9162 §2.1.4.2
        for old, path in list(zip(olds, paths, strict=True))[::10]:
            verify_consistency(old, size, roots[old], root, path)
    print(f"   every tenth proof verified against the signed root, 20 against leaves ({load()})")


OFF = (
    "CREATE OR REPLACE FUNCTION bench_tlog_off() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "RETURN NULL; END $$; CREATE TRIGGER bench_tlog_off BEFORE INSERT ON idp_tlog_entry "
    "FOR EACH ROW EXECUTE FUNCTION bench_tlog_off()"
)


def log_writing(engine: Engine, on: bool) -> int:
    """CHECKPOINT (none mid-run), the log on or writing nothing (a trigger); entries so far."""
    with engine.begin() as conn:
        conn.exec_driver_sql("CHECKPOINT; DROP TRIGGER IF EXISTS bench_tlog_off ON idp_tlog_entry")
        if not on:
            conn.exec_driver_sql(OFF)
        return int(conn.exec_driver_sql("SELECT count(*) FROM idp_tlog_entry").scalar_one())


def sso(args: argparse.Namespace) -> None:
    print(f"\n3. SSO, log on vs writing nothing, 3 s + {args.sso_duration:.0f} s a run ({load()})")
    url = fresh_schema(args.database_url, "bench_tlog_sso")
    client_id, secret, usernames = flow.seed(url, 100, 1)
    engine = make_engine(url)
    server = flow.start_server(url, args.workers, flow.FAST_ARGON2)
    site = flow.Site(server.issuer, client_id, secret, usernames)
    runs: dict[bool, list[tuple[float, float]]] = {True: [], False: []}  # flows/s, CPU ms/flow
    measure = (args.clients, args.sso_duration, 3.0, "raw", server.process.pid)
    try:
        for run in range(1, args.runs + 1):
            for on in (True, False):
                before, at_start = log_writing(engine, on), load()
                r = asyncio.run(flow.run_scenario(site, "sso", *measure))
                cpu = (r.server_cpu or 0.0) + r.postgres_cpu  # seconds, server + every postgres
                runs[on].append((r.rate, cpu * 1e3 / max(1, len(r.latencies))))
                print(
                    f"   run {run} log {'on ' if on else 'off'}: {r.rate:6.1f} flows/s, p50/p99 "
                    f"{r.percentile(50):.0f}/{r.percentile(99):.0f} ms, {len(r.errors)} errors, "
                    f"{log_writing(engine, on) - before} entries, {runs[on][-1][1]:.2f} CPU "
                    f"ms/flow; {at_start}"
                )
    finally:
        server.stop()
        log_writing(engine, True)
    ratios = [a[0] / b[0] for a, b in zip(runs[True], runs[False], strict=True) if b[0]]
    on, off = (statistics.median(x[1] for x in runs[key]) for key in (True, False))
    ratio = statistics.median(ratios)
    print(f"   flows/s on/off: {', '.join(f'{x:.3f}' for x in ratios)}; median {ratio:.3f}")
    print(f"   CPU ms/flow, server + postgres, median: log on {on:.2f}, off {off:.2f}")


OPTIONS: list[tuple[str, type, Any, str]] = [
    ("--parts", str, "appends,proofs,sso", "which parts, in this order"),
    ("--writers", int, 2, "appending processes"),
    ("--connections", int, 24, "autocommit connections per writer process (threads)"),
    ("--duration", float, 20.0, "seconds of appends"),
    ("--size", int, 10_000_000, "entries of the tree for the proofs"),
    ("--proofs", int, 10_000, "proofs of each kind"),
    ("--workers", int, 2, "workers of leerid idp serve"),
    ("--clients", int, 32, "concurrent SSO pupils"),
    ("--sso-duration", float, 20.0, "seconds measured per SSO run"),
    ("--runs", int, 3, "SSO on/off pairs"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    url = os.environ.get("LEERID_BENCH_DATABASE_URL", url)
    parser.add_argument("--database-url", default=url, help="PostgreSQL (schemas bench_tlog_*)")
    for name, kind, default, what in OPTIONS:
        parser.add_argument(name, type=kind, default=default, help=f"{what} (default {default})")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[attr-defined]
    known = {"appends": appends, "proofs": proofs_at_size, "sso": sso}
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    if set(parts) - set(known) or args.proofs > args.size:
        parser.error("--parts: appends, proofs, sso; --proofs at most --size")
    with make_engine(args.database_url).connect() as conn:
        version = conn.exec_driver_sql("SHOW server_version").scalar_one()
    model = next(x for x in Path("/proc/cpuinfo").read_text().splitlines() if "model name" in x)
    print(
        f"LeerID transparency_log bench, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC: "
        f"{os.cpu_count()} cores ({model.split(':')[1].strip()}) shared by PostgreSQL {version}, "
        f"the provider and this driver; Python {sys.version.split()[0]}; {load()}"
    )
    for part in parts:
        known[part](args)


if __name__ == "__main__":
    main()
