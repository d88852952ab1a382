"""Issue 2 §4: an import is one transaction. A real ``kill -9`` half-way through a large
import leaves the registry exactly as it was; running the same import again completes it."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from leerid.registry.generate import generate_registry
from leerid.registry.importer import import_registry
from leerid.registry.lookup import find_pupil
from leerid.schema import get_engine
from tests.conftest import run_leerid
from tests.registry.conftest import snapshot

LARGE = 100_000


@pytest.fixture(scope="module")
def large_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("large")
    generate_registry(folder, LARGE, seed=99, unidentified_share=0.02)
    return folder


def wal_size(engine: Engine) -> int:
    """SQLite: the size of the database's write-ahead log (0 on PostgreSQL, or without one)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database:
        return 0
    wal = Path(f"{database}-wal")
    return wal.stat().st_size if wal.exists() else 0


def wait_for_writes(engine: Engine, process: subprocess.Popen[bytes], wal_start: int) -> None:
    """Until the import's transaction has written pupils: on PostgreSQL it holds the lock an
    INSERT or COPY into ``pupil`` takes; on SQLite its uncommitted pages have begun to reach
    the log (its 64 MiB page cache spilling), about three quarters into this import, some
    0.9 s before its commit on this machine."""
    held = text(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE relation = CAST('pupil' AS regclass) "
        "AND mode = 'RowExclusiveLock' AND pid <> pg_backend_pid())"
    )
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                if conn.execute(held).scalar():
                    return
        elif wal_size(engine) > wal_start + 4096:
            return
        time.sleep(0.005)
    raise AssertionError(f"the import wrote no pupils in time (exit {process.poll()})")


@pytest.mark.slow
def test_kill_9_half_way_leaves_the_registry_as_it_was(
    tmp_path: Path, large_folder: Path, leerid_env: dict[str, str]
) -> None:
    engine = get_engine(leerid_env["LEERID_DATABASE_URL"])
    generate_registry(tmp_path / "small", 200, seed=1)
    import_registry(engine, tmp_path / "small")
    before = snapshot(engine)

    process = subprocess.Popen(
        [sys.executable, "-m", "leerid.cli.main", "registry", "import", str(large_folder)],
        env=leerid_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    started = large_folder / f".rejects.csv.{process.pid}.tmp"  # written once the import runs
    deadline = time.monotonic() + 120
    while not started.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        wait_for_writes(engine, process, wal_size(engine))
        os.kill(process.pid, signal.SIGSTOP)  # frozen half-way, however fast the machine
        assert process.poll() is None, "the import ended before it could be stopped"
        with Session(engine) as session:  # a login meanwhile: not blocked, sees the old registry
            assert find_pupil(session, on=dt.date.today(), referte="S99-00000001") is None
            assert find_pupil(session, on=dt.date.today(), referte="S1-00000001") is not None
    finally:  # never leave a frozen import holding its locks (the teardown would wait on them)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    started.unlink(missing_ok=True)

    assert snapshot(engine) == before  # exactly as before: nothing half-imported

    again = run_leerid(["registry", "import", str(large_folder)], leerid_env)
    assert again.returncode == 0, again.stderr
    assert f"registrations created:   {LARGE}" in again.stdout
    after = snapshot(engine)
    assert len(after["registration"]) == LARGE + 200
    for table in ("pupil", "registration", "account"):
        assert set(before[table]) <= set(after[table])  # earlier identities untouched
