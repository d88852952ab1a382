"""``make demo``: the whole system starts and behaves as the protocol says (issues 2-5)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from leerid.testing.servers import free_port

ROOT = Path(__file__).resolve().parents[1]


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("LEERID_DATABASE_URL", None)
    env["LEERID_HOME"] = str(tmp_path / "home")
    env["COLUMNS"] = "200"
    return env


def test_demo_checks_gate_and_merge_then_stops(tmp_path: Path) -> None:
    ports = [str(free_port()), str(free_port())]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "leerid.cli.main",
            "demo",
            "--no-serve",
            "--pupils",
            "300",
            "--idp-port",
            ports[0],
            "--sp-port",
            ports[1],
        ],
        cwd=ROOT,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    # Issue 2: the import summary and three example pupils.
    assert "registrations created:   300" in out
    assert out.count('"leer_id_uuid"') == 3
    # Preamble D / art. 3: one admitted, one refused; art. 3: the identification merge.
    assert "leerling.partner │ first login          │ toegelaten" in out
    assert "leerling.andere  │ first login          │ geweigerd" in out
    assert "leerling.nieuw   │ after identification │ gekoppeld" in out
    assert "Traceback" not in result.stderr
    # Issue 13: DOV's console accounts and where to log in.
    assert f"http://127.0.0.1:{ports[0]}/beheer/aanmelden" in out
    assert "operator.dov" in out and "dpo.dov" in out
    # Issue 8, point 18: where the demo keeps its data and how to run the other commands.
    home = tmp_path / "home" / "demo"
    config = home / "lars" / "lars.toml"
    assert f"home               {home}" in out and f"LARS configuration {config}" in out
    export = next(line for line in out.splitlines() if "export LEERID_DATABASE_URL=" in line)
    url = export.split("=", 1)[1].split()[0]
    leerid = [sys.executable, "-m", "leerid.cli.main"]
    stats = subprocess.run(
        [*leerid, "registry", "stats"],
        cwd=ROOT,
        env={**_env(tmp_path), "LEERID_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert stats.returncode == 0 and "300" in stats.stdout, stats.stderr
    verify = subprocess.run(  # no --config: the demo's configuration is found by itself
        [*leerid, "sp", "log", "verify"],
        cwd=ROOT,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verify.returncode == 0 and "privacy log intact" in verify.stdout, verify.stderr
    assert verify.stderr.strip() == f"configuration {config} (the demo's)"


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_demo_serves_until_interrupted(tmp_path: Path, stop: signal.Signals) -> None:
    idp_port, sp_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "leerid.cli.main",
            "demo",
            "--pupils",
            "200",
            "--idp-port",
            str(idp_port),
            "--sp-port",
            str(sp_port),
        ],
        cwd=ROOT,
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 240
        for line in process.stdout:
            if "Ctrl-C stops both servers" in line or time.monotonic() > deadline:
                break
        discovery = httpx.get(f"http://127.0.0.1:{idp_port}/op/.well-known/openid-configuration")
        assert discovery.json()["issuer"] == f"http://127.0.0.1:{idp_port}/op"
        portal = httpx.get(f"http://127.0.0.1:{sp_port}/")
        assert portal.status_code == 200 and "LARS" in portal.text
    finally:
        process.send_signal(stop)
        process.wait(60)
    for port in (idp_port, sp_port):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still served"
