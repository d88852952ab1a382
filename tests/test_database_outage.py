"""Issue 8 §13 (guard): the database goes away under load and comes back.

Both servers run on dedicated PostgreSQL databases (the provider as ``leerid idp serve``, the
LARS portal under uvicorn in this process); a few clients loop requests at both while the
databases refuse connections (``ALLOW_CONNECTIONS false`` and ``pg_terminate_backend`` of
their sessions) for a few seconds, then accept them again. Asserted: never a 500, 503 with
``Retry-After`` while they are gone, no traceback in either server's log, a bounded number of
log lines, and a complete login through LARS afterwards without restarting anything.

PostgreSQL only: an SQLite file that is moved away stays open in the connections that have
it, so it cannot be made unreachable to a running server from outside.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, make_url, text

from leerid.store.outage import OutageLog
from leerid.testing.browser import Browser
from tests.conftest import PG_URL
from tests.sp.lars_world import Lars, lars_world

OUTAGE_SECONDS = 4.0
CLIENTS = 4


@contextmanager
def dedicated_databases(count: int) -> Iterator[list[str]]:
    """``count`` new, empty PostgreSQL databases (dropped afterwards)."""
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    names = [f"leerid_fault_{uuid.uuid4().hex[:12]}" for _ in range(count)]
    try:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        base = make_url(PG_URL)
        yield [base.set(database=n).render_as_string(hide_password=False) for n in names]
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def set_reachable(names: list[str], reachable: bool) -> None:
    """Let the databases accept connections, or refuse them and end the open sessions."""
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {reachable!s}'))
        if not reachable:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = ANY(:names)"
                ),
                {"names": names},
            )
    admin.dispose()


class Collector(logging.Handler):
    """Every record of the in-process portal and its uvicorn server."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class Load:
    """``CLIENTS`` threads looping requests; answers are counted per phase."""

    def __init__(self, lars: Lars) -> None:
        idp = lars.idp
        self.targets: list[tuple[str, str, dict[str, str]]] = [
            ("GET", f"{idp.base_url}/healthz", {}),
            ("GET", f"{lars.url}/healthz", {}),
            (
                "GET",
                f"{idp.issuer}/v1/auth?client_id={idp.client_id}&response_type=code"
                f"&scope=openid&redirect_uri={lars.url}/callback&state=s&nonce=n"
                "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
                "&code_challenge_method=S256",
                {"accept": "text/html"},
            ),
            ("POST", f"{idp.issuer}/v1/token", {}),
            ("GET", f"{lars.url}/personeel/aanmelden", {"accept": "text/html"}),
        ]
        self.phase = "before"
        self.seen: Counter[tuple[str, int]] = Counter()
        self.bad: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._loop, args=(i,)) for i in range(CLIENTS)]

    def _loop(self, offset: int) -> None:
        with httpx.Client(timeout=10, follow_redirects=False) as http:
            i = offset
            while not self._stop.is_set():
                method, url, headers = self.targets[i % len(self.targets)]
                i += 1
                data = (
                    {"grant_type": "authorization_code", "code": "x"} if method == "POST" else None
                )
                try:
                    response = http.request(method, url, headers=headers, data=data or None)
                except httpx.HTTPError as exc:
                    with self._lock:
                        self.bad.append(f"{url}: {type(exc).__name__}")
                    continue
                with self._lock:
                    self.seen[(self.phase, response.status_code)] += 1
                    if response.status_code >= 500 and (
                        response.status_code != 503 or "retry-after" not in response.headers
                    ):
                        self.bad.append(f"{self.phase} {url.split('?')[0]}: {response.status_code}")

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self.threads:
            thread.join(15)


def wait_healthy(urls: list[str], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(httpx.get(u, timeout=5).status_code == 200 for u in urls):
            return
        time.sleep(0.2)
    raise AssertionError(f"not healthy again within {seconds} s: {urls}")


@pytest.mark.skipif(not PG_URL, reason="needs LEERID_TEST_DATABASE_URL (PostgreSQL)")
def test_database_lost_and_back_under_load(tmp_path: Path) -> None:
    collector = Collector()
    watched = [logging.getLogger(n) for n in ("leerid", "uvicorn", "uvicorn.error")]
    for logger in watched:
        logger.addHandler(collector)
    try:
        with (
            dedicated_databases(2) as (idp_url, lars_url),
            lars_world(idp_url, tmp_path, lars_database_url=lars_url) as lars,
        ):
            names = [make_url(u).database or "" for u in (idp_url, lars_url)]
            health = [f"{lars.idp.base_url}/healthz", f"{lars.url}/healthz"]
            with Load(lars) as load:
                time.sleep(1.0)
                load.phase = "during"
                set_reachable(names, False)
                time.sleep(OUTAGE_SECONDS)
                load.phase = "after"
                set_reachable(names, True)
                wait_healthy(health, 20)
                time.sleep(1.0)
            # a complete login through LARS (both servers, both databases) just works again
            page = Browser().lars_login(lars.url, lars.idp.username, lars.idp.password)
            assert page.status_code == 200 and str(page.url).endswith("/mijn-gegevens")
            idp_log = lars.idp.server.log_text()
    finally:
        for logger in watched:
            logger.removeHandler(collector)

    assert not load.bad, load.bad[:20]
    during = {status for (phase, status), _ in load.seen.items() if phase == "during"}
    assert 503 in during, load.seen  # the outage was seen, and answered as one
    assert not any(status == 500 for (_, status) in load.seen), load.seen
    # no traceback per request: one line per failure class and minute
    assert "Traceback" not in idp_log, idp_log[-3000:]
    assert idp_log.count("database unavailable") <= 4, idp_log
    assert not [r for r in collector.records if r.exc_info], [
        r.getMessage() for r in collector.records if r.exc_info
    ][:5]
    portal_lines = [r for r in collector.records if "database unavailable" in r.getMessage()]
    assert 1 <= len(portal_lines) <= 4, [r.getMessage() for r in portal_lines]


def test_outage_log_is_one_line_per_class_and_minute(caplog: pytest.LogCaptureFixture) -> None:
    """§13: a thousand failures in a minute are one line per failure class, not a thousand."""
    now = [0.0]
    log = OutageLog(period=60, clock=lambda: now[0])
    with caplog.at_level("WARNING", logger="leerid.store.outage"):
        for i in range(1000):
            now[0] = i * 0.05  # 50 s
            log.record("database unreachable" if i % 2 else "connection lost", OSError("gone"))
        now[0] = 61
        log.record("connection lost", OSError("gone"))
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3, lines
    assert "499 more" in lines[2] and all("Traceback" not in line for line in lines)


def test_a_sqlite_file_that_cannot_be_opened_is_a_503_and_other_errors_are_not(
    tmp_path: Path,
) -> None:
    """The same answer on SQLite: its file replaced by a folder, as after a bad restore."""
    from sqlalchemy.exc import IntegrityError
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from leerid.store.engine import make_engine
    from leerid.store.outage import DatabaseOutage, outage_class

    (tmp_path / "gone.db").mkdir()
    engine = make_engine(f"sqlite:///{tmp_path / 'gone.db'}")

    async def reads(_: object) -> PlainTextResponse:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return PlainTextResponse("ok")

    async def bug(_: object) -> PlainTextResponse:
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))

    app = Starlette(routes=[Route("/healthz", reads), Route("/page", reads), Route("/bug", bug)])
    app.add_middleware(DatabaseOutage, render=lambda _r, _k: None, outages=OutageLog())

    async def calls() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://lars") as client:
            health = await client.get("/healthz")
            assert health.status_code == 503 and health.headers["retry-after"] == "10"
            assert health.text == "database unavailable: database file unusable"
            page = await client.get("/page", headers={"accept": "text/html"})
            assert page.status_code == 503 and "Probeer het zo opnieuw" in page.text
            api = await client.get("/page")
            assert api.status_code == 503 and api.json()["error"] == "temporarily_unavailable"
            with pytest.raises(IntegrityError):  # a bug is not an outage: it stays a 500
                await client.get("/bug")

    asyncio.run(calls())
    assert outage_class(IntegrityError("INSERT", {}, Exception("duplicate key"))) is None
    engine.dispose()
