"""The unit/live split (tests/live_or_unit.py) classes tests and catches a hidden live one."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from textwrap import dedent

PLUGIN = Path(__file__).resolve().parents[1] / "live_or_unit.py"

SUITE = {
    "pytest.ini": """\
        [pytest]
        addopts = --strict-markers -p no:cacheprovider
        markers =
            live: live
            unit: unit
    """,
    "conftest.py": """\
        import pytest
        pytest_plugins = ["live_or_unit"]

        @pytest.fixture
        def database_url(tmp_path):
            return f"sqlite:///{tmp_path / 'x.db'}"
    """,
    "helpers.py": """\
        import socket, sqlite3, subprocess, sys

        def open_database():
            sqlite3.connect(":memory:").close()

        def call_home():
            try:
                socket.create_connection(("127.0.0.1", 9), timeout=0.5)
            except Exception:
                pass  # code under test that swallows the error: still caught

        def run_child():
            subprocess.run([sys.executable, "-c", "pass"], check=True)

        def engine_at(url):
            import sqlalchemy
            with sqlalchemy.create_engine(url).connect():
                pass
    """,
    "test_suite.py": """\
        import sqlite3
        import pytest
        import helpers

        def test_pure():
            assert sum([1, 2]) == 3

        def test_hidden_database():
            helpers.open_database()

        def test_hidden_socket():
            helpers.call_home()

        def test_hidden_process():
            helpers.run_child()

        def test_hidden_sqlalchemy_engine():
            helpers.engine_at("sqlite://")

        def test_hidden_postgresql():
            helpers.engine_at("postgresql+psycopg://postgres@127.0.0.1:9/none")

        def test_with_a_live_fixture(database_url):
            sqlite3.connect(database_url.removeprefix("sqlite:///")).close()

        @pytest.mark.live
        def test_marked_live():
            helpers.open_database()

        def test_using_sqlite_itself():
            sqlite3.connect(":memory:").close()
    """,
}


def _run(folder: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "0", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout + done.stderr


def test_unit_run_fails_a_hidden_live_test_and_a_full_run_does_not(tmp_path: Path) -> None:
    for name, text in SUITE.items():
        (tmp_path / name).write_text(dedent(text), encoding="utf-8")
    shutil.copy(PLUGIN, tmp_path / "live_or_unit.py")

    unit = _run(tmp_path, "-m", "unit", "-rf")
    assert "5 failed, 1 passed, 3 deselected" in unit, unit
    for what in (
        "a SQLite connection",
        "a PostgreSQL connection",
        "a socket connect to ('127.0.0.1', 9)",
        "a subprocess",
    ):
        assert f"is classed unit but opened {what}" in unit, unit
    assert "mark it live" in unit

    live = _run(tmp_path, "-m", "live")
    assert "3 passed, 6 deselected" in live, live

    everything = _run(tmp_path, "-k", "not postgresql")  # no server on port 9: that one fails
    assert "8 passed" in everything, everything
