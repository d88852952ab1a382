"""Issue 8 §14 and §15: servers check their port first; the issuer follows the port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from leerid.idp.settings import default_issuer, issuer_port_warning
from leerid.testing.servers import free_port
from tests.conftest import Leerid, run_leerid
from tests.sp.conftest import write_config


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port another program listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_every_server_checks_its_port_first(
    tmp_path: Path, typo_env: dict[str, str], busy_port: int, leerid: Leerid
) -> None:
    """§14: exit 2 naming the port and what to do, before anything is prepared."""
    lars = write_config(tmp_path / "lars", f"sqlite:///{tmp_path / 'lars.db'}")
    free = str(free_port())
    cases = {
        "--port": ["idp", "serve", "--port", str(busy_port)],
        "--port ": ["sp", "serve", "--config", str(lars), "--port", str(busy_port)],
        "--idp-port": ["demo", "--idp-port", str(busy_port), "--sp-port", free, "--no-serve"],
        "--sp-port": ["demo", "--idp-port", free, "--sp-port", str(busy_port), "--no-serve"],
    }
    for option, args in cases.items():
        status, err = leerid(args, typo_env)
        assert status == 2, (args, err)
        assert f"port {busy_port}" in err and "already in use" in err
        assert option.strip() in err and "Errno" not in err
    assert not (tmp_path / "home" / "demo").exists()  # the demo stopped before preparing
    assert not (tmp_path / "lars.db").exists()
    # as a user sees it
    result = run_leerid(cases["--idp-port"], {**os.environ, **typo_env})
    assert result.returncode == 2 and f"port {busy_port}" in result.stderr


@given(
    host=st.sampled_from(["127.0.0.1", "0.0.0.0", "::", "localhost", "192.0.2.7", "::1"]),
    port=st.integers(1, 65535),
)
@example(host="127.0.0.1", port=80)  # the default port stays in the issuer as written
def test_the_default_issuer_follows_host_and_port(host: str, port: int) -> None:
    issuer = default_issuer(host, port)
    assert urlsplit(issuer).port == port and issuer.endswith("/op")  # httpx hides :80
    assert issuer_port_warning(issuer, port) is None  # the default never warns


@given(listening=st.integers(1, 65535), named=st.integers(1, 65535))
def test_a_port_mismatch_warns_in_one_line_a_proxy_does_not(listening: int, named: int) -> None:
    warning = issuer_port_warning(f"http://127.0.0.1:{named}/op", listening)
    assert (warning is None) == (named == listening)
    if warning:
        assert "\n" not in warning and str(named) in warning and str(listening) in warning
    # no port in the issuer: https on 443 or http on 80 in front of us, a proxy is plausible
    assert issuer_port_warning("https://leerid.example/op", listening) is None
    assert issuer_port_warning("http://leerid.example/op", listening) is None


def _serve(env: dict[str, str], port: int) -> tuple[dict[str, object], str]:
    """Start ``idp serve --port``, read the discovery document, stop; returns it and stderr."""
    process = subprocess.Popen(
        [sys.executable, "-m", "leerid.cli.main", "idp", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    discovery: dict[str, object] | None = None
    try:
        deadline = time.monotonic() + 60
        while discovery is None and time.monotonic() < deadline and process.poll() is None:
            try:
                found = httpx.get(f"http://127.0.0.1:{port}/op/.well-known/openid-configuration")
                discovery = found.json() if found.status_code == 200 else None
            except httpx.HTTPError:
                time.sleep(0.2)
    finally:
        process.terminate()
        _, err = process.communicate(timeout=20)
    assert discovery is not None, err
    return discovery, err


def test_idp_serve_advertises_the_port_it_listens_on(tmp_path: Path) -> None:
    """§15: without LEERID_ISSUER the issuer follows --port; a mismatch is warned about."""
    env = {**os.environ, "LEERID_DATABASE_URL": f"sqlite:///{tmp_path / 'leerid.db'}"}
    env.pop("LEERID_ISSUER", None)
    port = free_port()
    discovery, err = _serve(env, port)
    assert discovery["issuer"] == f"http://127.0.0.1:{port}/op"
    assert str(discovery["token_endpoint"]).startswith(f"http://127.0.0.1:{port}/op/")
    assert "warning" not in err
    port = free_port()
    _, err = _serve({**env, "LEERID_ISSUER": "http://127.0.0.1:8000/op"}, port)
    lines = [line for line in err.splitlines() if "warning" in line]
    assert len(lines) == 1 and "8000" in lines[0] and str(port) in lines[0], lines
