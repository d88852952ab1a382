"""The side-by-side bench's driver (``bench/_flow_client.py``) against real servers (issue 15).

About a second of flows per scenario against oidc-provider in memory (``bench/peer``, installed
by ``make test-deps``) and, when ``LEERID_TEST_DATABASE_URL`` is set, against
``leerid idp serve --workers 2`` on PostgreSQL: every flow must complete, and an ID token the
client cannot verify (signed by a key it does not know) must count as an error. Speed is not
asserted: the bench prints it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leerid.testing.databases import drop_schema

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))  # the bench's scripts import each other by name
flows: Any = importlib.import_module("_flow_client")
servers: Any = importlib.import_module("_side_servers")

pytestmark = pytest.mark.live
PG_URL = os.environ.get("LEERID_TEST_DATABASE_URL", "").strip()
BROWSERS = 4
SECONDS = 1.0


@pytest.fixture(scope="module")
def peer() -> Iterator[Any]:
    """oidc-provider in memory; fails (never skips) with the command that installs it."""
    if not (servers.PEER_NODE / "node_modules" / "oidc-provider").is_dir():
        pytest.fail(f"oidc-provider is not installed in {servers.PEER_NODE}: run `make test-deps`")
    server = servers.start_peer(False, BROWSERS)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def leerid() -> Iterator[Any]:
    """leerid on a schema of its own in PostgreSQL, as the bench starts it."""
    if not PG_URL:
        pytest.skip("leerid's side of the bench runs on PostgreSQL: set LEERID_TEST_DATABASE_URL")
    schema = f"test_side_by_side_{secrets.token_hex(4)}"
    site = servers.seed_leerid(PG_URL, BROWSERS, schema)
    try:
        server = servers.start_leerid(site, "fast", BROWSERS, {})
        yield server
        server.stop()
    finally:
        drop_schema(PG_URL, schema)


def drive(target: Any, scenario: str) -> Any:
    return asyncio.run(flows.drive(target, scenario, BROWSERS, SECONDS))


@pytest.mark.parametrize("scenario", ["sso", "login"])
def test_every_flow_completes_on_the_peer(peer: Any, scenario: str) -> None:
    run = drive(peer.target, scenario)
    assert not run.errors, run.examples
    assert run.latencies


@pytest.mark.parametrize("scenario", ["sso", "login"])
def test_every_flow_completes_on_leerid(leerid: Any, scenario: str) -> None:
    run = drive(leerid.target, scenario)
    assert not run.errors, run.examples
    assert run.latencies


def test_an_id_token_the_client_cannot_verify_counts_as_an_error(peer: Any) -> None:
    """The peer's ID tokens checked against the keys of another provider (a second peer)."""
    other = servers.start_peer(False, 1)
    try:
        run = drive(dataclasses.replace(peer.target, jwks_uri=other.target.jwks_uri), "login")
    finally:
        other.stop()
    assert not run.latencies
    assert run.errors["id_token"] > 0, run.examples
    assert set(run.errors) == {"id_token"}, run.examples


def test_the_peer_starts_with_a_secret_that_looks_like_an_option() -> None:
    """A random client secret may begin with ``-``: the peer must still start and accept it."""
    other = servers.start_peer(False, BROWSERS, secret="-" + secrets.token_urlsafe(24))
    try:
        run = drive(other.target, "login")
    finally:
        other.stop()
    assert not run.errors, run.examples
    assert run.latencies


def test_make_test_installs_the_peer_from_its_lock_file_once(tmp_path: Path) -> None:
    """oidc-provider and ioredis pinned exactly, installed by `make test` (and `make bench`)."""
    folder = ROOT / "bench" / "peer"
    pinned = json.loads((folder / "package.json").read_text(encoding="utf-8"))["dependencies"]
    lock = json.loads((folder / "package-lock.json").read_text(encoding="utf-8"))["packages"]
    assert pinned["oidc-provider"] == "9.13.3"
    for name, version in pinned.items():
        assert version.count(".") == 2 and version.replace(".", "").isdigit(), name
        assert lock[f"node_modules/{name}"]["version"] == version
    missing = "PEER_STAMP=.leerid/peer/.missing-stamp"
    for goal in ("test-deps", "bench-deps"):
        plan = make_plan(goal, "CHROMIUM=/bin/sh", "OIDC_MODULE=/bin/sh", missing)
        assert "npm ci --prefix .leerid/peer" in plan
    stamp = tmp_path / "installed"
    stamp.touch()
    assert "npm ci" not in make_plan("bench-deps", f"PEER_STAMP={stamp}")


def make_plan(*args: str) -> str:
    """What ``make -n ARGS`` would run (nothing is installed)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    argv = ["make", "--no-print-directory", "-n", *args]
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout
