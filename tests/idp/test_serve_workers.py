"""``leerid idp serve --workers N``: every worker takes connections; a dead one is replaced.

Issue 15: uvicorn's shared listening socket gave a burst of keep-alive connections to one
worker while the other sat idle; each worker now binds with SO_REUSEPORT (cli/workers.py).
"""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import pytest

from leerid.testing.servers import ServerProcess, start_idp

pytestmark = pytest.mark.skipif(not hasattr(socket, "SO_REUSEPORT"), reason="no SO_REUSEPORT")


def _children(pid: int) -> set[int]:
    """The worker processes of ``pid`` (its children that listen on a TCP socket)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid and _socket_inodes(int(entry.name)):
                found.add(int(entry.name))
    return found


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        pass
    return inodes


def _established(port: int) -> set[str]:
    """Inodes of the server side of established loopback connections to ``port``."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].split(":")[1], 16)
        if local_port == port and fields[3] == "01":  # 01: ESTABLISHED
            inodes.add(fields[9])
    return inodes


def _healthz(sock: socket.socket) -> bytes:
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    return sock.recv(4096)


def _workers_of(server: ServerProcess, count: int, seconds: float = 20) -> set[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        workers = _children(server.process.pid)
        if len(workers) == count:
            return workers
        time.sleep(0.2)
    raise AssertionError(f"expected {count} workers, saw {_children(server.process.pid)}")


def test_a_burst_of_keep_alive_connections_reaches_every_worker(tmp_path: Path) -> None:
    server = start_idp(f"sqlite:///{tmp_path / 'dov.db'}", workers=2)
    port = int(server.base_url.rsplit(":", 1)[1])
    try:
        workers = _workers_of(server, 2)
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(32)]
        try:
            assert all(b" 200 " in _healthz(sock).split(b"\r\n")[0] for sock in clients)
            established = _established(port)
            serving = {pid for pid in workers if _socket_inodes(pid) & established}
            assert serving == workers, "a worker took none of 32 connections"
        finally:
            for sock in clients:
                sock.close()
    finally:
        server.stop()


def test_a_dead_worker_is_replaced_and_sigterm_stops_them_all(tmp_path: Path) -> None:
    server = start_idp(f"sqlite:///{tmp_path / 'dov.db'}", workers=2)
    port = int(server.base_url.rsplit(":", 1)[1])
    try:
        first, second = sorted(_workers_of(server, 2))
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            workers = _children(server.process.pid)
            if len(workers) == 2 and first not in workers:
                break
            time.sleep(0.2)
        assert second in workers and first not in workers and len(workers) == 2
        for _ in range(8):  # every connection is answered, whichever worker takes it
            with socket.create_connection(("127.0.0.1", port)) as sock:
                assert b" 200 " in _healthz(sock).split(b"\r\n")[0]
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(40) == 0
        assert not any(Path(f"/proc/{pid}").exists() for pid in workers)
    finally:
        server.stop()
