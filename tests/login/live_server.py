"""A real identity provider server (uvicorn) on loopback, in a thread of the test process.

In-process so that a test can watch the server's own database engine (the write count);
the HTTP traffic is real: a socket on 127.0.0.1, a port chosen by the system.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from leerid.idp.app import create_app
from leerid.idp.context import IdpContext
from leerid.idp.settings import IdpSettings


@dataclass
class LiveIdp:
    """A running server: its base URL, issuer and in-process context."""

    base_url: str
    issuer: str
    app: FastAPI

    @property
    def ctx(self) -> IdpContext:
        ctx: IdpContext = self.app.state.idp
        return ctx


@contextmanager
def live_idp(database_url: str, log_level: str = "warning") -> Iterator[LiveIdp]:
    """Serve ``create_app`` for ``database_url`` until the block ends."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    app = create_app(IdpSettings(issuer=f"{base}/op", database_url=database_url))
    server = uvicorn.Server(
        uvicorn.Config(app, log_level=log_level, access_log=log_level == "debug", lifespan="off")
    )
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the identity provider did not start")
        time.sleep(0.02)
    try:
        yield LiveIdp(base_url=base, issuer=f"{base}/op", app=app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        app.state.idp.hasher.close()
