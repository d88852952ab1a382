"""Shared fixtures: a fresh database per test, on SQLite and (when configured) PostgreSQL.

Storage tests take the ``database_url`` (or ``engine``) fixture and so run once per backend:
always on an embedded SQLite file, and also on PostgreSQL when ``LEERID_TEST_DATABASE_URL``
is set. When it is set and the server cannot be reached the tests fail: they never skip.
Each PostgreSQL test gets a schema of its own (dropped afterwards) through ``search_path``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, create_engine, text

from leerid.schema import upgrade
from leerid.store.engine import dispose_engines, make_engine

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytest_plugins = ["tests.live_or_unit"]  # classes each test unit or live (make test-unit)

PG_URL = os.environ.get("LEERID_TEST_DATABASE_URL", "").strip()
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]


def _pg_schema_url(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options={quote(f'-csearch_path={schema}')}"


@contextmanager
def fresh_database(backend: str, folder: Path, name: str = "leerid.db") -> Iterator[str]:
    """A URL of an empty database on ``backend`` (a file in ``folder`` or a PG schema)."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / name}"
        dispose_engines()
        return
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:  # fails the test, never skips, when PG is unreachable
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield _pg_schema_url(schema)
    finally:
        dispose_engines()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database (not yet migrated), on each configured backend."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated engine on a fresh database."""
    eng = make_engine(database_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def leerid_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    """The environment for running the ``leerid`` command against the test database."""
    env = dict(os.environ)
    env["LEERID_HOME"] = str(tmp_path / "home")
    env["LEERID_DATABASE_URL"] = database_url
    env.setdefault("COLUMNS", "200")
    return env


def run_leerid(
    args: list[str], env: dict[str, str], *, check: bool = False, input_text: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``leerid ARGS`` as a real process, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "leerid.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        check=check,
        input=input_text,
        timeout=600,
    )


def run_leerid_here(
    args: list[str], env: dict[str, str], *, input_text: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``leerid ARGS`` in this process (no new interpreter: about 1 s less per call), with
    ``env``'s LEERID_ variables only, and answer as ``run_leerid`` does. For tests whose
    subject is the command's work, not the process (its exit code and stderr are the same)."""
    from click.testing import CliRunner

    from leerid.cli.main import main

    changes: dict[str, str | None] = {k: None for k in os.environ if k.startswith("LEERID_")}
    changes.update({k: v for k, v in env.items() if k.startswith("LEERID_") or k == "COLUMNS"})
    argv = sys.argv
    with CliRunner().isolation(input=input_text, env=changes) as (out, err, _):
        sys.argv = ["leerid", *args]
        try:
            main()
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        finally:
            sys.argv = argv
            sys.stdout.flush()
            sys.stderr.flush()
        stdout = out.getvalue().decode("utf-8")
        stderr = err.getvalue().decode("utf-8", "backslashreplace")
    return subprocess.CompletedProcess(["leerid", *args], code, stdout, stderr)


# The `leerid` command in this process, and a database path with a typo (issue 8 §4, §14).
@pytest.fixture
def typo_env(tmp_path: Path) -> dict[str, str]:
    """LEERID_DATABASE_URL with a typo: the folder exists, the file does not."""
    return {
        "LEERID_HOME": str(tmp_path / "home"),
        "LEERID_DATABASE_URL": f"sqlite:///{tmp_path / 'leerdi.db'}",
    }


@pytest.fixture
def leerid(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[[list[str], dict[str, str]], tuple[int, str]]:
    """The ``leerid`` command run in this process (fast): exit status and standard error."""

    def run(args: list[str], env: dict[str, str]) -> tuple[int, str]:
        from leerid.cli.main import main

        with monkeypatch.context() as patch:
            for name in ("LEERID_HOME", "LEERID_DATABASE_URL", "LEERID_ISSUER"):
                patch.delenv(name, raising=False)
            for name, value in env.items():
                patch.setenv(name, value)
            patch.setattr(sys, "argv", ["leerid", *args])
            capsys.readouterr()
            with pytest.raises(SystemExit) as done:
                main()
        return int(done.value.code or 0), capsys.readouterr().err

    return run


Leerid = Callable[[list[str], dict[str, str]], tuple[int, str]]


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """A headless Chromium (Playwright), one per module: the browser tests' only one."""
    from playwright.sync_api import sync_playwright  # a dev dependency: only when asked for

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()
