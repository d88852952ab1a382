"""A portal stopped while its poller syncs lets the next sync go on at once (issue 10):
the poll's lease is released on the way out, not left to run out its five minutes."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select

from leerid.sp.kit import events_state
from leerid.sp.kit.models import EventsState
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.settings import load_settings
from leerid.store.engine import session_scope
from leerid.testing.servers import serve_portal
from tests.sp.conftest import write_config

pytestmark = pytest.mark.live


@contextmanager
def silent_provider() -> Iterator[int]:
    """A port on loopback that accepts connections and never answers: a DOV that hangs."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        for connection in held:
            connection.close()
        server.close()


def _holder(provider: ServiceProvider) -> str | None:
    with session_scope(provider.engine) as session:
        return session.scalar(select(EventsState.lease_holder).where(EventsState.id == 1))


def test_a_portal_stopped_mid_poll_releases_its_lease(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LARS_TEST_SECRET", "s" * 32)
    with silent_provider() as port:
        config = write_config(
            tmp_path / "sp", database_url, issuer=f"http://127.0.0.1:{port}/op", poll_interval=0.2
        )
        provider = ServiceProvider(load_settings(config))
        try:
            with serve_portal(provider):
                deadline = time.monotonic() + 30
                while _holder(provider) is None and time.monotonic() < deadline:
                    time.sleep(0.02)
                assert _holder(provider) is not None, "the poller never began a sync"
            # stopped while the poll waits for DOV: the lease is free for `leerid sp sync`
            assert _holder(provider) is None
            assert events_state.take_lease(provider.engine, "leerid sp sync")
        finally:
            provider.engine.dispose()
