"""Worker processes for ``serve --workers N``, each accepting on its own listening socket.

uvicorn's supervisor hands every worker one shared socket; the worker that wakes first
accepts every connection waiting, so the few long keep-alive connections of a service
provider's back channel, a reverse proxy's pool or a load generator all land on one worker
while the others sit idle (docs/performance.md measures it). Here each worker binds the
address itself with ``SO_REUSEPORT`` (Linux ≥ 3.9, BSD), and the kernel spreads new
connections over the workers' queues by a hash of the connection. Neither uvicorn nor
gunicorn does this (gunicorn's ``--reuse-port`` still shares one socket), hence this module.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

__all__ = ["Workers", "listening_socket", "reuse_port_supported"]

STARTUP_FAILURE = 3
"""uvicorn's exit code for a worker that could not start (the app, not the moment)."""
STOP_SECONDS = 30.0
"""How long the workers get to finish their requests after SIGTERM before SIGKILL."""


def reuse_port_supported() -> bool:
    """Whether this system has ``SO_REUSEPORT`` (Windows has not)."""
    return hasattr(socket, "SO_REUSEPORT")


def listening_socket(host: str, port: int, backlog: int = 2048) -> socket.socket:
    """A listening TCP socket on ``host:port`` that other workers of ours may bind too."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _serve(options: dict[str, Any], host: str, port: int) -> None:
    """One worker: its own socket, then uvicorn's server on it (runs in the child)."""
    import uvicorn

    sock = listening_socket(host, port)
    uvicorn.Server(uvicorn.Config(**options)).run(sockets=[sock])


@dataclass
class Workers:
    """``count`` uvicorn workers on ``host:port``; a worker that dies is replaced."""

    count: int
    options: dict[str, Any]
    """``uvicorn.Config`` arguments (picklable: the app as an import string)."""
    host: str
    port: int
    _processes: list[BaseProcess] = field(default_factory=list)
    _stopping: bool = False

    def run(self) -> int:
        """Serve until SIGINT or SIGTERM; the exit status (1 when a worker cannot start)."""
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        failed = False
        try:
            self._processes = [self._start() for _ in range(self.count)]
            while not self._stopping:
                time.sleep(0.5)
                failed = self._replace_dead()
                if failed:
                    break
        finally:
            self._terminate()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 1 if failed else 0

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True

    def _start(self) -> BaseProcess:
        spawn = multiprocessing.get_context("spawn")
        process = spawn.Process(target=_serve, args=(self.options, self.host, self.port))
        process.start()
        return process

    def _replace_dead(self) -> bool:
        """Replace each worker that exited; True when one could not start at all."""
        for index, process in enumerate(self._processes):
            if process.is_alive() or self._stopping:
                continue
            if process.exitcode == STARTUP_FAILURE:
                print(
                    f"worker {process.pid} could not start (see above); stopping", file=sys.stderr
                )
                return True
            print(
                f"worker {process.pid} exited ({process.exitcode}); starting another",
                file=sys.stderr,
            )
            self._processes[index] = self._start()
        return False

    def _terminate(self) -> None:
        """SIGTERM to every worker (uvicorn finishes its requests), SIGKILL after a while."""
        for process in self._processes:
            if process.is_alive() and process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    process.terminate()
        deadline = time.monotonic() + STOP_SECONDS
        for process in self._processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
