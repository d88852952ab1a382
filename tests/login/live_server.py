"""A real identity provider server (uvicorn) on loopback, in a thread of the test process.

In-process so that a test can watch the server's own database engine (the write count);
the HTTP traffic is real: a socket on 127.0.0.1, a port chosen by the system.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from fastapi import FastAPI

from leerid.idp.app import create_app
from leerid.idp.context import IdpContext
from leerid.idp.settings import IdpSettings
from leerid.testing.servers import serve_in_thread


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

    def make(base: str) -> FastAPI:
        return create_app(IdpSettings(issuer=f"{base}/op", database_url=database_url))

    with serve_in_thread(make, lifespan="off", log_level=log_level) as (base, app):
        try:
            yield LiveIdp(base_url=base, issuer=f"{base}/op", app=app)
        finally:
            app.state.idp.hasher.close()
