"""One starter for the identity provider and the LARS portal on loopback, waited for, stopped.

Two ways to run a server, both on 127.0.0.1 and a port the system chooses unless one is
given: a subprocess running ``leerid idp serve`` / ``leerid sp serve`` (as an operator runs
it, with its own workers and log), or uvicorn in a thread of the calling process (so that a
test can look into the server's own objects, e.g. count its database writes).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import uvicorn

from leerid.errors import LeeridError
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.portal.app import create_portal

__all__ = [
    "LOOPBACK",
    "ServerProcess",
    "free_port",
    "healthy",
    "serve_in_thread",
    "serve_portal",
    "start_idp",
    "start_portal",
    "start_server",
]

LOOPBACK = "127.0.0.1"
START_SECONDS = 60.0


_EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LOWEST = 10000
"""Ports below this are left to the services of the machine (PostgreSQL, Redis, ...)."""


def _ephemeral_start() -> int | None:
    """Where the system's range for outgoing connections starts (Linux), if known."""
    try:
        return int(_EPHEMERAL.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now.

    On Linux it is taken below the range the system gives outgoing connections: a port from
    that range (what binding port 0 returns) can be taken by a database client's connection
    between this check and the server's own bind, which failed a CI run ("address already in
    use") while parallel tests opened connections.
    """
    start = _ephemeral_start()
    if start is not None and start > _LOWEST + 1000:
        for _ in range(64):
            port = _LOWEST + secrets.randbelow(start - _LOWEST)
            with socket.socket() as s:
                try:
                    s.bind((LOOPBACK, port))
                except OSError:
                    continue  # something listens there (or just did): another one
                return port
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def healthy(base_url: str, seconds: float, process: subprocess.Popen[bytes] | None = None) -> bool:
    """Whether ``{base_url}/healthz`` answers 200 within ``seconds`` (False once it exits)."""
    deadline = time.monotonic() + seconds
    with httpx.Client(timeout=1) as http:  # one client: its TLS context is made once
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                return False
            try:
                if http.get(f"{base_url}/healthz").status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    return False


@dataclass
class ServerProcess:
    """A ``leerid … serve`` in a subprocess (stopped by its own pid only)."""

    what: str
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path | None
    """Where its output goes; None: the caller's terminal."""

    @property
    def issuer(self) -> str:
        """The issuer of an identity provider started here (``{base_url}/op``)."""
        return f"{self.base_url}/op"

    def log_text(self) -> str:
        """Everything the server wrote so far (empty when it writes to the terminal)."""
        if self.log_path is None:
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, seconds: float = 15) -> None:
        """SIGTERM, then SIGKILL after ``seconds``."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(seconds)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_server(
    what: str,
    command: list[str],
    *,
    env: dict[str, str] | None = None,
    port: int | None = None,
    log: bool = True,
) -> ServerProcess:
    """Run ``leerid COMMAND --host 127.0.0.1 --port PORT`` and wait for ``/healthz``.

    ``env`` is added to this process's environment. With ``log`` the output goes to a
    temporary file (``log_text()``), else to this process's terminal.
    """
    port = port or free_port()
    base = f"http://{LOOPBACK}:{port}"
    argv = [sys.executable, "-m", "leerid.cli.main", *command]
    argv += ["--host", LOOPBACK, "--port", str(port)]
    full_env = {**os.environ, **(env or {})}
    log_path = None
    if log:
        log_path = Path(tempfile.mkstemp(prefix="leerid-server-", suffix=".log")[1])
        with log_path.open("wb") as out:
            process = subprocess.Popen(argv, env=full_env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    else:
        process = subprocess.Popen(argv, env=full_env)  # noqa: S603
    server = ServerProcess(what, base, process, log_path)
    if healthy(base, START_SECONDS, process):
        return server
    exited = process.poll()
    server.stop()
    output = f":\n{server.log_text()}" if log else "; see above"
    if exited is not None:
        raise LeeridError(f"{what} stopped at start (exit {exited}){output}")
    raise LeeridError(f"{what} did not answer at {base}/healthz in {START_SECONDS:.0f} s{output}")


def start_idp(
    database_url: str,
    *,
    env: dict[str, str] | None = None,
    workers: int = 1,
    port: int | None = None,
    log: bool = True,
) -> ServerProcess:
    """``leerid idp serve`` on ``database_url``, its issuer ``http://127.0.0.1:PORT/op``."""
    port = port or free_port()
    settings = {
        "LEERID_DATABASE_URL": database_url,
        "LEERID_ISSUER": f"http://{LOOPBACK}:{port}/op",
        **(env or {}),
    }
    command = ["idp", "serve", "--workers", str(workers)]
    return start_server("the identity provider", command, env=settings, port=port, log=log)


def start_portal(
    config: Path,
    *,
    env: dict[str, str] | None = None,
    port: int | None = None,
    log: bool = True,
) -> ServerProcess:
    """``leerid sp serve --config CONFIG`` (the LARS portal)."""
    command = ["sp", "serve", "--config", str(config)]
    return start_server("the LARS portal", command, env=env, port=port, log=log)


@contextmanager
def serve_in_thread(
    make_app: Callable[[str], Any],
    *,
    port: int | None = None,
    lifespan: Literal["auto", "on", "off"] = "auto",
    log_level: str = "warning",
    tls: tuple[Path, Path] | None = None,
) -> Iterator[tuple[str, Any]]:
    """Serve ``make_app(base_url)`` with uvicorn in a thread: yields (base URL, the app).

    The socket is bound first, so the app can know its own address (an issuer, a portal's
    public URL) before it is built. With ``tls`` (key file, certificate file) it serves
    https, its base URL ``https://localhost:PORT`` (another site than ``127.0.0.1``).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, port or 0))
    where = f"https://localhost:{sock.getsockname()[1]}" if tls else None
    base = where or f"http://{LOOPBACK}:{sock.getsockname()[1]}"
    app = make_app(base)
    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=log_level == "debug",
        lifespan=lifespan,
        ssl_keyfile=str(tls[0]) if tls else None,
        ssl_certfile=str(tls[1]) if tls else None,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    try:
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise LeeridError(f"the server at {base} did not start")
            time.sleep(0.02)
        yield base, app
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@contextmanager
def serve_portal(provider: ServiceProvider, port: int | None = None) -> Iterator[str]:
    """The LARS portal of ``provider`` under uvicorn in a thread; yields its base URL."""
    with serve_in_thread(lambda _base: create_portal(provider), port=port) as (base, _app):
        yield base
