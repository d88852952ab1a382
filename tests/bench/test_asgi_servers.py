"""``bench/asgi_servers.py`` (issue 15) against real servers, briefly: every server of the floor
answers and gets its row, and leerid under granian completes flows (on PostgreSQL, when
``LEERID_TEST_DATABASE_URL`` is set). Speed is not asserted: the bench prints it.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from leerid.testing.databases import drop_schema

ROOT = Path(__file__).resolve().parents[2]
PG_URL = os.environ.get("LEERID_TEST_DATABASE_URL", "").strip()
QUICK = ["--rounds", "1", "--duration", "0.5", "--warmup", "0.3", "--connections", "4"]

pytestmark = pytest.mark.live


def bench(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, str(ROOT / "bench" / "asgi_servers.py"), *args]
    return subprocess.run(
        argv, cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True,
        timeout=240,
    )  # fmt: skip


def test_the_floor_measures_each_server_with_the_same_driver() -> None:
    done = bench("--parts", "floor", *QUICK)
    assert done.returncode == 0, done.stderr[-2000:]
    table = re.findall(r"^\| ([a-z ,]+) \| ([\d,]+) \| [\d,]+ \|$", done.stdout, re.M)
    rows = dict(table)
    assert set(rows) == {"node http", "starlette, uvicorn", "fastapi, uvicorn", "leerid, uvicorn"}
    assert all(int(rate.replace(",", "")) > 0 for rate in rows.values()), done.stdout


def test_leerid_under_granian_completes_its_flows() -> None:
    if not PG_URL:
        pytest.skip("the servers part runs on PostgreSQL: set LEERID_TEST_DATABASE_URL")
    schema = f"test_asgi_servers_{secrets.token_hex(4)}"
    try:
        done = bench(
            "--parts", "servers", "--browsers", "4", *QUICK,
            "--database-url", PG_URL, "--schema", schema,
        )  # fmt: skip
    finally:
        drop_schema(PG_URL, schema)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    rows = dict(re.findall(r"^\| (leerid, \w+) \| (\d+) \| [\d.]+ \|$", done.stdout, re.M))
    assert set(rows) == {"leerid, uvicorn", "leerid, granian"}, done.stdout
    assert all(int(rate) > 0 for rate in rows.values()), done.stdout


def test_bad_options_are_refused_with_what_to_use() -> None:
    done = bench("--parts", "floor,speed")
    assert done.returncode == 2
    assert "choose among floor, servers" in done.stderr
    assert "Traceback" not in done.stderr
