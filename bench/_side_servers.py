"""The servers of ``bench/side_by_side.py``: leerid on PostgreSQL, oidc-provider beside it.

leerid runs as ``bench/login_flow.py`` runs it (its ``seed`` and ``start_server``, a fresh
schema); oidc-provider is ``bench/peer/server.mjs`` under Node with ``NODE_ENV=production``,
its packages from ``.leerid/peer`` (``make bench-deps``). Redis at 127.0.0.1:6379: the bench
uses database 15 only, flushed before each run of the Redis-backed peer.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
from _flow_client import Target, discover
from login_flow import FAST_ARGON2, PASSWORD, seed, tree_cpu_by_process
from login_flow import start_server as start_leerid_process
from sqlalchemy import Engine, create_engine, text

from leerid.testing.databases import fresh_schema
from leerid.testing.servers import ServerProcess, free_port

ROOT = Path(__file__).resolve().parent.parent
PEER_SCRIPT = ROOT / "bench" / "peer" / "server.mjs"
PEER_NODE = ROOT / ".leerid" / "peer"
SCHEMA = "bench_side_by_side"
REDIS_HOST, REDIS_PORT, REDIS_DB = "127.0.0.1", 6379, 15
REDIS_START = (
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no'
)
LABELS = {
    "leerid": "leerid",
    "redis": "oidc-provider, Redis",
    "memory": "oidc-provider, memory",
    "floor": "Python floor, no store",
}


@dataclass
class Server:
    """A server under test, started for one scenario."""

    key: str  # leerid / redis / memory
    target: Target
    pid: int
    store: str  # the process name of its store (postgres, redis-server), "" in memory
    stop: Callable[[], None]
    store_pids: Callable[[], set[int]] | None = None  # its own store processes, if known


# --- which PostgreSQL backends serve a server ---------------------------------------------


def _socket_inodes(pids: set[int]) -> set[str]:
    """The inodes of the sockets that the processes ``pids`` hold open (Linux /proc)."""
    found: set[str] = set()
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if target.startswith("socket:["):
                        found.add(target[8:-1])
    return found


def client_ports(pids: set[int], server_port: int) -> set[int]:
    """The local TCP ports of the connections of ``pids`` to ``server_port``."""
    inodes, ports = _socket_inodes(pids), set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table, encoding="ascii") as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                if remote_port == server_port and fields[9] in inodes:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def postgres_backends(engine: Engine, root: int) -> set[int]:
    """The pids of the PostgreSQL backends connected to process ``root`` and its descendants."""
    port = engine.url.port or 5432
    ports = client_ports(set(tree_cpu_by_process(root)), port)
    if not ports:
        return set()
    query = text("SELECT pid FROM pg_stat_activity WHERE client_port = ANY(:ports)")
    with engine.connect() as connection:
        return {int(pid) for pid in connection.execute(query, {"ports": list(ports)}).scalars()}


# --- Redis -----------------------------------------------------------------------------------


def redis_command(*words: str) -> bytes | None:
    """Send one command to Redis on loopback (RESP); its raw answer, None when none answers."""
    request = f"*{len(words)}\r\n" + "".join(f"${len(w)}\r\n{w}\r\n" for w in words)
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=2) as connection:
            connection.sendall(request.encode())
            return connection.recv(65536)
    except OSError:
        return None


def flush_redis() -> None:
    """Empty the bench's own Redis database (``REDIS_DB``)."""
    request = f"SELECT {REDIS_DB}\r\nFLUSHDB\r\n".encode()
    with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=5) as connection:
        connection.sendall(request)
        answer = b""
        while answer.count(b"\r\n") < 2:
            chunk = connection.recv(1024)
            if not chunk:
                break
            answer += chunk
    if answer != b"+OK\r\n+OK\r\n":
        raise SystemExit(f"Redis at {REDIS_HOST}:{REDIS_PORT} refused FLUSHDB: {answer!r}")


# --- the servers ---------------------------------------------------------------------------


def start_peer(redis: bool, browsers: int, secret: str | None = None) -> Server:
    """oidc-provider (``bench/peer/server.mjs``) on a free port, in memory or on Redis.

    The client secret goes in the environment, not on the command line: a random one may begin
    with ``-`` (which node's parseArgs takes for an option) and argv is visible to ``ps``.
    """
    if not (PEER_NODE / "node_modules" / "oidc-provider").is_dir():
        raise SystemExit(f"oidc-provider is not installed in {PEER_NODE}: run `make bench-deps`")
    port, secret = free_port(), secret or secrets.token_urlsafe(24)
    argv = ["node", str(PEER_SCRIPT), f"--port={port}"]
    if redis:
        argv += [f"--redis=redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"]
    env = {
        **os.environ,
        "NODE_ENV": "production",
        "LEERID_PEER_NODE": str(PEER_NODE),
        "PEER_CLIENT_SECRET": secret,
    }
    log = Path(tempfile.mkstemp(prefix="leerid-bench-peer-", suffix=".log")[1])
    key = "redis" if redis else "memory"
    usernames = [str(uuid.uuid4()) for _ in range(browsers)]  # a UUID, as leerid's sub
    password = "any: the development login checks nothing"
    return _started(key, argv, env, log, port, secret, usernames, password)


def _started(
    key: str,
    argv: list[str],
    env: dict[str, str],
    log: Path,
    port: int,
    secret: str,
    usernames: list[str],
    password: str,
) -> Server:
    """Start a server of ours that is not leerid (client ``bench``, login field ``login``),
    wait for its discovery document and read it; stopped again when it does not answer."""
    with log.open("wb") as out:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    issuer = f"http://127.0.0.1:{port}"
    started = ServerProcess(LABELS[key], issuer, process, log)
    if not _answers(f"{issuer}/.well-known/openid-configuration", process, 30):
        started.stop()
        raise SystemExit(f"{LABELS[key]} did not start at {issuer}:\n{started.log_text()[-2000:]}")
    fields = {"client_id": "bench", "client_secret": secret, "login_field": "login"}
    try:
        target = asyncio.run(
            discover(issuer, name=LABELS[key], password=password, usernames=usernames, **fields)
        )
    except BaseException:
        started.stop()
        raise
    store = "redis-server" if key == "redis" else ""
    return Server(key, target, process.pid, store, started.stop)


def start_floor(browsers: int) -> Server:
    """``bench/floor_app.py`` under ``uvicorn --workers 2`` on a free port: the least an SSO
    flow costs on leerid's stack (no store; see that module)."""
    from joserfc.jwk import RSAKey

    port, secret = free_port(), secrets.token_urlsafe(24)
    folder = Path(tempfile.mkdtemp(prefix="leerid-bench-floor-"))
    key_file = folder / "key.pem"
    key_file.write_bytes(RSAKey.generate_key(2048, private=True).as_pem(private=True))
    key_file.chmod(0o600)
    issuer = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "FLOOR_ISSUER": issuer,
        "FLOOR_CLIENT_ID": "bench",
        "FLOOR_CLIENT_SECRET": secret,
        "FLOOR_KEY_FILE": str(key_file),
        "FLOOR_SEAL_KEY": secrets.token_bytes(32).hex(),
    }
    argv = [sys.executable, "-m", "uvicorn", "--factory", "floor_app:create_app"]
    argv += ["--app-dir", str(ROOT / "bench"), "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--workers", "2", "--no-access-log", "--log-level", "warning"]
    usernames = ["floor"] * browsers
    password = "unused: the floor has no login"
    try:
        server = _started(
            "floor", argv, env, folder / "server.log", port, secret, usernames, password
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise

    def stop() -> None:  # the server, then its key and log
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)

    return replace(server, stop=stop)


def _answers(url: str, process: subprocess.Popen[bytes], seconds: float) -> bool:
    """Whether ``url`` answers 200 within ``seconds`` (False once ``process`` exits)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return True
        time.sleep(0.1)
    return False


@dataclass
class LeeridSite:
    """leerid's seeded schema: its database URL, client and accounts."""

    url: str
    client_id: str
    secret: str
    usernames: dict[str, list[str]]  # "fast" / "owasp" → usernames


def seed_leerid(database_url: str, browsers: int, schema: str = SCHEMA) -> LeeridSite:
    """A fresh ``schema`` with at least one pupil account per browser for each hash kind."""
    url = fresh_schema(database_url, schema)
    client_id, secret, usernames = seed(url, 2 * browsers + 8, 1)
    if min(len(names) for names in usernames.values()) < browsers:
        raise SystemExit(f"the seeded registry gave fewer than {browsers} accounts per kind")
    return LeeridSite(url, client_id, secret, usernames)


def start_leerid(site: LeeridSite, kind: str, browsers: int, env: dict[str, str]) -> Server:
    """``leerid idp serve --workers 2`` on the seeded schema (``kind``: fast or owasp hash)."""
    process = start_leerid_process(site.url, 2, {**(FAST_ARGON2 if kind == "fast" else {}), **env})
    account = {"login_field": "username", "password": PASSWORD}
    try:
        target = asyncio.run(
            discover(
                process.issuer,
                name=LABELS["leerid"],
                client_id=site.client_id,
                client_secret=site.secret,
                usernames=site.usernames[kind][:browsers],
                **account,
            )
        )
    except BaseException:
        process.stop()
        raise
    engine = create_engine(site.url, pool_size=1)

    def stop() -> None:
        process.stop()
        engine.dispose()

    pid = process.process.pid
    return Server("leerid", target, pid, "postgres", stop, lambda: postgres_backends(engine, pid))


@contextlib.contextmanager
def servers_for(
    scenario: str, keys: list[str], site: LeeridSite | None, args: argparse.Namespace
) -> Iterator[list[Server]]:
    """The servers of one scenario, started in order, all stopped at the end."""
    started: list[Server] = []
    try:
        for key in keys:
            if key == "leerid" and site is not None:
                kind = "owasp" if scenario == "owasp" else "fast"
                started.append(start_leerid(site, kind, args.browsers, args.leerid_env))
            elif key in ("redis", "memory"):
                started.append(start_peer(key == "redis", args.browsers))
            elif key == "floor" and scenario == "sso":  # it has no login form
                started.append(start_floor(args.browsers))
        yield started
    finally:
        for server in started:
            server.stop()
