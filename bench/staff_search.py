"""Benchmark of the staff's pupil search within their schools (art. 4, second indent).

Fills a fresh provider database with N last-login records spread over 20 schools, gives a
member of staff a scope of 10 of them, and times the kit's search (``need_to_know.search``,
the function the portal's /personeel/leerlingen calls): the first page with no criterion, one
school, a name that matches a handful of pupils, and a name that matches none (the worst
case: every pupil of the scope is compared, in the database, on the folded names). Prints
p50, p99 and max per query.

    .venv/bin/python bench/staff_search.py [--pupils 100000] [--runs 20]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

Default database: a SQLite file in a temporary folder. With a PostgreSQL URL the bench uses
a fresh schema ``bench_staff_search``, dropped afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
import uuid
from pathlib import Path

from figures import latency_line  # bench/figures.py
from sqlalchemy import insert, text

from leerid.sp.kit.models import MIGRATIONS, PupilRecord
from leerid.sp.kit.name_search import name_key
from leerid.sp.kit.need_to_know import Clearance, PupilSearch, search
from leerid.store.engine import make_engine, session_scope, upgrade
from leerid.testing.databases import drop_schema, fresh_schema

SCHEMA = "bench_staff_search"
SCHOOLS = [f"{100000 + i * 1111:06d}" for i in range(20)]
FAMILIES = ["Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens"]


def database(url: str | None) -> str:
    if not url:
        return f"sqlite:///{Path(tempfile.mkdtemp()) / 'sp.db'}"
    return fresh_schema(url, SCHEMA)


def fill(engine: object, pupils: int) -> None:
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            "pupil_key": str(uuid.uuid4()),
            "key_kind": "leer_id_uuid",
            "account_uuid": str(uuid.uuid4()),
            "given_name": (given := "Zoë" if i % 5000 == 0 else "Lien"),  # a few: "zoe"
            "family_name": (family := FAMILIES[i % len(FAMILIES)]),
            "search_name": name_key(given, family),  # as the ORM writes it at a login
            "orgcodes": SCHOOLS[i % len(SCHOOLS)],
            "last_login_at": now - dt.timedelta(minutes=i),
        }
        for i in range(pupils)
    ]
    with engine.begin() as conn:  # type: ignore[attr-defined]
        for i in range(0, len(rows), 10_000):
            conn.execute(insert(PupilRecord), rows[i : i + 10_000])
        conn.execute(text("ANALYZE sp_pupil"))  # statistics, as autovacuum keeps them


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pupils", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    url = database(args.database_url)
    engine = make_engine(url)
    upgrade(engine, migrations=MIGRATIONS)
    started = time.perf_counter()
    fill(engine, args.pupils)
    scope = frozenset(SCHOOLS[:10])
    print(
        f"backend {engine.dialect.name}: {args.pupils} pupils over {len(SCHOOLS)} schools, "
        f"scope {len(scope)} schools, filled in {time.perf_counter() - started:.1f} s"
    )
    cleared = Clearance("bench", "toegangscontrole", "Trajectbegeleider", scope, None)
    key = os.urandom(32)
    queries = {
        "first page, no criterion": PupilSearch(),
        "one school": PupilSearch(school=SCHOOLS[0]),
        "a name matching a few ('zoe')": PupilSearch(name="zoe"),
        "a name matching none (reads the whole scope)": PupilSearch(name="xyzzy"),
    }
    for label, query in queries.items():
        times, count = [], 0
        for _ in range(args.runs):
            t0 = time.perf_counter()
            with session_scope(engine) as session:
                count = len(search(session, cleared, query, key).pupils)
            times.append(time.perf_counter() - t0)
        print(latency_line(f"{label} ({count} shown)", times))
    engine.dispose()
    if args.database_url:
        drop_schema(args.database_url, SCHEMA)


if __name__ == "__main__":
    main()
