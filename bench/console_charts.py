"""Benchmark of the console's disclosure chart over ten million disclosures (issue 13: ≤ 300 ms).

1. Seeds the counts that ``--disclosures`` (10 M) disclosures of ``--clients`` (20) clients
   over ``--days`` (400) days produce, through the rollup's own upsert
   (``disclosure_counts.upsert_counts``, the statement the integrator runs): a realistic
   spread (school days busy, weekends and holidays quiet, the hours of a school day, token
   and userinfo releases, 1 % refused), summed per UTC hour and per Brussels day exactly as
   the integrator counts entries. The disclosures themselves are not written: the chart
   never reads them.
2. Times the chart as the page builds it (``per_day_per_client`` + client names +
   ``day_chart`` + ``client_table`` + the ``_chart.html`` partial), 50 runs: the default 30
   days, and a whole year (366 days) of every client; p50 and p99.
3. With ``--http``: the same through the real page ``/beheer/verstrekkingen`` of a provider
   started on loopback, as a logged-in operator.
4. The rollup's cost in the integrator: ``--entries`` (20,000) real disclosure records with
   their log entries, integrated in batches of 4096 with and without counting; µs per entry.

    .venv/bin/python bench/console_charts.py [--backends sqlite,postgresql] [--http]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

PostgreSQL: a fresh schema ``bench_console_charts``, dropped afterwards; SQLite: a file in a
temporary folder.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import jinja2
from figures import latency_line  # bench/figures.py
from sqlalchemy import Engine, func, select, update

from leerid.idp.console import disclosure_views as views
from leerid.idp.store.clients import add_client, list_clients
from leerid.idp.store.console import disclosure_counts
from leerid.idp.store.console.disclosure_counts import DayKey, HourKey, brussels_day
from leerid.idp.store.console.disclosure_queries import DisclosureFilter, per_day_per_client
from leerid.idp.store.console_tables import DisclosureDay, DisclosureHour, DisclosureRollup
from leerid.idp.store.disclosures import record_disclosure
from leerid.idp.store.tlog import integrate
from leerid.idp.store.tlog.append import pupil_secret
from leerid.idp.store.tlog.checkpoints import log_signer
from leerid.protocol.lifecycle import BRUSSELS
from leerid.schema import upgrade
from leerid.store.engine import make_engine
from leerid.testing import seeding
from leerid.testing.browser import Browser
from leerid.testing.databases import drop_schema, fresh_schema
from leerid.testing.servers import start_idp

SCHEMA = "bench_console_charts"
TEMPLATES = Path(__file__).resolve().parents[1] / "src/leerid/idp/console/templates"
# The share of a school day's disclosures per Brussels hour (07:00 .. 22:00).
HOURS = {7: 3, 8: 14, 9: 12, 10: 10, 11: 9, 12: 6, 13: 10, 14: 9, 15: 8, 16: 6, 17: 4,
         18: 3, 19: 3, 20: 2, 21: 1}  # fmt: skip
ENDPOINTS = (("token", 0.45), ("userinfo", 0.45), ("introspect", 0.10))


def seed_clients(engine: Engine, count: int) -> list[str]:
    names = ["Smartschool", "Bingel", "LARS", "Informat", "Scoodle", "Diddit", "Kweetet.be"]
    ids = []
    for n in range(count):
        name = names[n] if n < len(names) else f"Leerplatform {n + 1}"
        client, _ = add_client(
            engine,
            name=name,
            protocol_id=f"prot-{n + 1:02d}",
            redirect_uris=[f"https://rp{n}.example/cb"],
        )
        ids.append(client.client_id)
    return ids


def _day_weight(day: dt.date) -> float:
    if day.weekday() >= 5 or day.month in (7, 8):
        return 0.08
    return 1.0


def _split(total: int, shares: list[float]) -> list[int]:
    """``total`` in parts proportional to ``shares``; the rounding goes to the largest."""
    whole = sum(shares)
    parts = [int(total * share / whole) for share in shares]
    parts[shares.index(max(shares))] += total - sum(parts)
    return parts


def spread(
    clients: list[str], days: int, disclosures: int, end: dt.date
) -> tuple[Counter[DayKey], Counter[HourKey]]:
    """The counts ``disclosures`` disclosures produce, per Brussels day and per UTC hour."""
    chance = random.Random(13)
    dates = [end - dt.timedelta(days=n) for n in range(days)]
    size = [chance.uniform(0.2, 2.0) for _ in clients]
    cells = [(d, c) for d in dates for c in range(len(clients))]
    totals = _split(disclosures, [_day_weight(d) * size[c] for d, c in cells])
    days_out: Counter[DayKey] = Counter()
    hours_out: Counter[HourKey] = Counter()
    for (day, c), total in zip(cells, totals, strict=True):
        client, protocol = clients[c], f"prot-{c + 1:02d}"
        for hour, in_hour in zip(HOURS, _split(total, list(HOURS.values())), strict=True):
            moment = dt.datetime.combine(day, dt.time(hour), BRUSSELS).astimezone(dt.UTC)
            parts = _split(in_hour, [share for _, share in ENDPOINTS])
            for (endpoint, _), count in zip(ENDPOINTS, parts, strict=True):
                refused = count // 100
                for outcome, n in (("released", count - refused), ("refused", refused)):
                    if n:
                        days_out[(brussels_day(moment), client, protocol, endpoint, outcome)] += n
                        hours_out[(moment, client, endpoint, outcome)] += n
    return days_out, hours_out


def seed_counts(engine: Engine, clients: list[str], days: int, disclosures: int) -> None:
    today = dt.datetime.now(BRUSSELS).date()
    started = time.perf_counter()
    day_counts, hour_counts = spread(clients, days, disclosures, today)
    with engine.begin() as conn:
        disclosure_counts.upsert_counts(conn, day_counts, hour_counts)
        # as if rebuilt: the integrator must not recount from the (absent) records
        conn.execute(update(DisclosureRollup).values(rebuilt_at=dt.datetime.now(dt.UTC)))
    with engine.connect() as conn:
        seeded = conn.execute(select(func.sum(DisclosureDay.count))).scalar_one()
        day_rows = conn.execute(select(func.count()).select_from(DisclosureDay)).scalar_one()
        hour_rows = conn.execute(select(func.count()).select_from(DisclosureHour)).scalar_one()
    print(
        f"  seeded {int(seeded):,} disclosures' counts: {day_rows:,} rows per day, "
        f"{hour_rows:,} per hour, in {time.perf_counter() - started:.1f} s"
    )


def chart_once(engine: Engine, flt: DisclosureFilter, partial: jinja2.Template) -> int:
    """What the page does for its chart: the query, the names, the chart, the partial."""
    rows = per_day_per_client(engine, flt)
    names = {client.client_id: client.name for client in list_clients(engine)}
    chart = views.day_chart(rows, flt, names)
    table = views.client_table(rows, flt, names)
    html = partial.render(chart=chart)
    return len(html) + len(table)


def timed(label: str, runs: int, work: Callable[[], object]) -> None:
    work()  # warm: the first run loads modules and fills caches
    latencies = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        latencies.append(time.perf_counter() - started)
    print("  " + latency_line(label, latencies))


def http_page(url: str, engine: Engine, args: argparse.Namespace) -> None:
    """The page over HTTP: a provider on loopback, a logged-in operator, ``--runs`` GETs."""
    password = "een-lang-bench-wachtwoord-7"
    seeding.add_console_staff(engine, "bench", password, "operator")
    server = start_idp(url)
    try:
        browser = Browser()
        answer = browser.console_login(server.base_url, "bench", password)
        assert answer.status_code == 303, answer.text
        today = dt.datetime.now(BRUSSELS).date()
        year = {"van": str(today - dt.timedelta(days=365)), "tot": str(today)}
        for label, params in (("30 days", {}), ("366 days", year)):

            def get(query: dict[str, str] = params) -> None:
                page = browser.http.get(f"{server.base_url}/beheer/verstrekkingen", params=query)
                assert page.status_code == 200, page.text[:500]

            timed(f"GET /beheer/verstrekkingen over HTTP, {label}", args.runs, get)
    finally:
        server.stop()


def rollup_cost(engine: Engine, clients: list[str], entries: int) -> None:
    """The integrator's time per entry with and without counting (batches of 4096)."""
    signer = log_signer(engine, "bench.leerid.example/log")
    secret = pupil_secret(engine)
    del secret  # loaded once, as a node does before it writes
    chance = random.Random(5)
    results = {}
    for counting in (False, True, False, True):
        now = dt.datetime.now(dt.UTC)
        with engine.begin() as conn:
            for n in range(entries):
                record_disclosure(
                    conn,
                    client_id=chance.choice(clients),
                    endpoint="token",
                    claims=["sub", "given_name", "family_name", "orgcode"],
                    protocol_id="prot-01",
                    protocol_hash="ab" * 32,
                    leer_id_uuid=None,
                    account_uuid=None,
                    at=now - dt.timedelta(seconds=n),
                )
        original = integrate.count_entries
        if not counting:
            integrate.count_entries = lambda conn, bodies: 0  # type: ignore[assignment]
        try:
            started = time.perf_counter()
            done = integrate.integrate_pending(engine, signer, checkpoint_every=3600)
            seconds = time.perf_counter() - started
        finally:
            integrate.count_entries = original  # type: ignore[assignment]
        assert done.integrated == entries
        results[counting] = seconds / entries * 1e6
    bodies = []
    with engine.connect() as conn:
        from leerid.idp.store.tlog.tables import TlogEntry

        bodies = [bytes(b) for (b,) in conn.execute(select(TlogEntry.body).limit(4096))]
    best = float("inf")
    for _ in range(10):  # the counting alone: tally + upserts, rolled back, best of 10
        with engine.connect() as conn, conn.begin() as tx:
            started = time.perf_counter()
            disclosure_counts.count_entries(conn, bodies)
            best = min(best, time.perf_counter() - started)
            tx.rollback()
    tally_us = best / len(bodies) * 1e6
    without, with_counts = results[False], results[True]
    print(
        f"  integrator, {entries:,} entries in batches of 4096: {without:.1f} µs/entry "
        f"without counting, {with_counts:.1f} µs/entry with (+{with_counts - without:.1f} µs); "
        f"the counting alone (parse, tally, upsert; best of 10 batches) {tally_us:.1f} µs/entry"
    )


def run(url: str, args: argparse.Namespace) -> None:
    engine = make_engine(url)
    upgrade(engine)
    clients = seed_clients(engine, args.clients)
    seed_counts(engine, clients, args.days, args.disclosures)
    partial = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True
    ).get_template("_chart.html")
    today = dt.datetime.now(BRUSSELS).date()
    for label, flt in (
        ("30 days, every client", DisclosureFilter(today - dt.timedelta(days=29), today)),
        ("366 days, every client", DisclosureFilter(today - dt.timedelta(days=365), today)),
        (
            "366 days, one client, released",
            DisclosureFilter(today - dt.timedelta(days=365), today, clients[2], None, "released"),
        ),
    ):
        timed(
            f"query + chart + partial, {label}",
            args.runs,
            lambda f=flt: chart_once(engine, f, partial),
        )
    if args.http:
        http_page(url, engine, args)
    rollup_cost(engine, clients, args.entries)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "LEERID_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--disclosures", type=int, default=10_000_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--days", type=int, default=400)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--http", action="store_true", help="also time the page over HTTP")
    args = parser.parse_args()
    for backend in args.backends.split(","):
        print(f"{backend}:")
        if backend == "sqlite":
            run(f"sqlite:///{Path(tempfile.mkdtemp()) / 'dov.db'}", args)
            continue
        try:
            run(fresh_schema(args.database_url, SCHEMA), args)
        finally:
            drop_schema(args.database_url, SCHEMA)


if __name__ == "__main__":
    main()
