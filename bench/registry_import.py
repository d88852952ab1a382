"""Benchmark of the DISCIMUS import (issue 2 §7): 1.2 million pupils, ~1.3 million enrolments.

Generates the files once, then for SQLite (always) and PostgreSQL (when
LEERID_BENCH_DATABASE_URL or LEERID_TEST_DATABASE_URL is set) runs, each in a fresh process:
the first import into an empty registry, then a re-import of the same files (which must
change nothing). Prints wall time, CPU time of the importing process and of the processes
that check its files (user + system; the database server's share is not in it for
PostgreSQL), rows per second and the peak RSS of the importing process. (The checker's own
peak is about 21 MB; the peak RSS the system reports for a child counts the importer's pages
that the child shares between its fork and its exec, so it is not added here.)
On a shared machine the CPU time is the steadier figure.

    .venv/bin/python bench/registry_import.py [--pupils N] [--seed S] [--workdir DIR]

A --workdir is kept, and its files are reused by a later run with the same --pupils and --seed.

Targets on a 2-core machine: first import <= 60 s, peak RSS <= 600 MB, re-import <= 30 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import create_engine, text


def child(url: str, folder: str) -> None:
    """Run one import in this process and print its figures as JSON."""
    from leerid.registry.importer import import_registry
    from leerid.schema import upgrade
    from leerid.store.engine import make_engine

    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    summary = import_registry(engine, folder, Path(folder) / "rejects-bench.csv")
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    checkers = resource.getrusage(resource.RUSAGE_CHILDREN)  # the row checks of a large file
    rss_mb = usage.ru_maxrss / 1024
    cpu = usage.ru_utime + usage.ru_stime + checkers.ru_utime + checkers.ru_stime
    print(
        json.dumps(
            {
                "wall": wall,
                "cpu": cpu,
                "rss_mb": rss_mb,
                "created": summary.registrations_created,
                "updated": summary.registrations_updated,
                "unchanged": summary.registrations_unchanged,
                "accounts_created": summary.accounts_created,
                "rejects": summary.rejects,
            }
        )
    )


def run_child(url: str, folder: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", url, str(folder)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def count_rows(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(1 for _ in f) - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pupils", type=int, default=1_200_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--child", nargs=2, metavar=("URL", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return

    from leerid.registry.generate import generate_registry

    work = args.workdir or Path(tempfile.mkdtemp(prefix="leerid-bench-"))
    folder = work / "discimus"
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    started = time.perf_counter()
    marker, made = folder / ".generated", f"{args.pupils} {args.seed}"
    reused = marker.exists() and marker.read_text() == made  # a --workdir of an earlier run
    if not reused:
        generate_registry(folder, args.pupils, seed=args.seed)
        marker.write_text(made)
    rows = count_rows(folder / "leerlingen.csv") + count_rows(folder / "inschrijvingen.csv")
    print(
        f"{'reused' if reused else 'generated'} {args.pupils} pupils, "
        f"{rows - args.pupils} enrolments in {time.perf_counter() - started:.1f} s"
    )

    for old in work.glob("bench.db*"):  # a kept --workdir: the first import starts empty
        old.unlink()
    backends: list[tuple[str, str, str | None]] = [
        ("SQLite", f"sqlite:///{work / 'bench.db'}", None)
    ]
    pg = os.environ.get("LEERID_BENCH_DATABASE_URL") or os.environ.get("LEERID_TEST_DATABASE_URL")
    if pg:
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        sep = "&" if "?" in pg else "?"
        backends.append(
            ("PostgreSQL", f"{pg}{sep}options={quote(f'-csearch_path={schema}')}", schema)
        )

    print(
        f"{'backend':<11} {'run':<10} {'wall s':>8} {'cpu s':>7} {'rows/s':>9} "
        f"{'peak RSS MB':>12}  result"
    )
    for name, url, schema in backends:
        admin = create_engine(pg, isolation_level="AUTOCOMMIT") if schema and pg else None
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            for run in ("first", "re-import"):
                r = run_child(url, folder)
                result = (
                    f"created {r['created']}, updated {r['updated']}, "
                    f"unchanged {r['unchanged']}, accounts {r['accounts_created']}, "
                    f"rejects {r['rejects']}"
                )
                print(
                    f"{name:<11} {run:<10} {r['wall']:8.1f} {r['cpu']:7.1f} "
                    f"{rows / r['wall']:9.0f} {r['rss_mb']:12.0f}  {result}",
                    flush=True,
                )
        finally:
            if admin is not None:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                admin.dispose()
    if args.workdir is None:
        for path in sorted(work.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        work.rmdir()


if __name__ == "__main__":
    main()
