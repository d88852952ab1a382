"""Benchmark: what the Python web stack costs per request, and leerid under two ASGI servers.

Issue 15 asks where leerid's time goes and whether another ASGI server would win it back.
Two parts, each side by side in one run with one driver, alternating, medians of ``--rounds``:

``floor``: the server CPU per request of a trivial JSON endpoint, one process each, driven by
the same aiohttp client (``--connections`` keep-alive connections, ``--duration`` s per run):
Node's ``http`` (what oidc-provider stands on), bare Starlette and bare FastAPI under uvicorn,
and leerid's own stack (its middleware, routing and the discovery document; ``leerid idp
serve --workers 1`` on SQLite, no database call on that endpoint).

``servers``: leerid's SSO flows (``bench/side_by_side.py``'s driver and seeding, PostgreSQL)
served by uvicorn (``leerid idp serve --workers 2``, as in production) and by granian
(``granian --interface asgi --workers 2 --loop uvloop``, the same app factory), alternating.

    .venv/bin/python bench/asgi_servers.py                  # both parts
    .venv/bin/python bench/asgi_servers.py --parts floor --duration 2
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from _flow_client import discover
from _side_servers import LABELS, Server, postgres_backends, seed_leerid, start_leerid
from login_flow import FAST_ARGON2, PASSWORD, tree_cpu_by_process
from side_by_side import alternate, cpu_per_flow, database_url_option, medians
from sqlalchemy import create_engine

from leerid.testing.servers import free_port, start_idp

BIN = Path(sys.executable).parent
PARTS = ("floor", "servers")
FLOOR_APPS = {
    "starlette": """
        from starlette.applications import Starlette
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        async def health(request):
            return JSONResponse({"status": "ok"})

        app = Starlette(routes=[Route("/health", health)])
    """,
    "fastapi": """
        from fastapi import FastAPI

        app = FastAPI()

        @app.get("/health")
        async def health():
            return {"status": "ok"}
    """,
}
NODE_APP = """
import http from "node:http";
const body = JSON.stringify({status: "ok"});
http.createServer((req, res) => {
  res.writeHead(200, {"content-type": "application/json", "content-length": body.length});
  res.end(body);
}).listen(Number(process.argv[2]), "127.0.0.1");
"""
LEERID_PATH = "/op/.well-known/openid-configuration"


@dataclass
class Endpoint:
    """A trivial endpoint of one server process."""

    name: str
    pid: int
    url: str
    stop: Callable[[], None]


def _wait(url: str, process: subprocess.Popen[bytes] | None, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise SystemExit(f"the server for {url} stopped at start (exit {process.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing answered at {url} in {seconds:.0f} s")


def _popen(
    argv: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def floor_endpoints(folder: Path) -> list[Endpoint]:
    """Node, Starlette, FastAPI and leerid, each one process on a free port."""
    started: list[Endpoint] = []
    try:
        if shutil.which("node"):
            (folder / "node_app.mjs").write_text(NODE_APP, encoding="utf-8")
            port = free_port()
            node = _popen(["node", "node_app.mjs", str(port)], folder)
            started.append(
                Endpoint("node http", node.pid, f"http://127.0.0.1:{port}/health", node.terminate)
            )
            _wait(started[-1].url, node)
        else:
            print("node is not installed: the Node floor is skipped", file=sys.stderr)
        for name, source in FLOOR_APPS.items():
            (folder / f"{name}_app.py").write_text(textwrap.dedent(source), encoding="utf-8")
            port = free_port()
            argv = [str(BIN / "uvicorn"), f"{name}_app:app", "--port", str(port)]
            process = _popen([*argv, "--log-level", "warning", "--no-access-log"], folder)
            started.append(
                Endpoint(
                    f"{name}, uvicorn",
                    process.pid,
                    f"http://127.0.0.1:{port}/health",
                    process.terminate,
                )
            )
            _wait(started[-1].url, process)
        idp = start_idp(f"sqlite:///{folder / 'leerid.db'}", workers=1, log=False)
        started.append(
            Endpoint("leerid, uvicorn", idp.process.pid, idp.base_url + LEERID_PATH, idp.stop)
        )
    except BaseException:
        for endpoint in started:
            endpoint.stop()
        raise
    return started


async def hammer(url: str, connections: int, seconds: float) -> int:
    """GET ``url`` on ``connections`` keep-alive connections for ``seconds``: answers counted."""
    done = 0
    stop_at = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def one() -> None:
            nonlocal done
            while time.monotonic() < stop_at:
                async with http.get(url) as answer:
                    await answer.read()
                    if answer.status != 200:
                        raise SystemExit(f"{url} answered {answer.status}")
                done += 1

        await asyncio.gather(*(one() for _ in range(connections)))
    return done


def run_floor(args: argparse.Namespace) -> None:
    """The floor part: requests/s and server CPU µs per request, alternating."""
    with tempfile.TemporaryDirectory(prefix="leerid-bench-floor-") as folder:
        endpoints = floor_endpoints(Path(folder))
        try:
            for endpoint in endpoints:  # warm-up, not counted
                asyncio.run(hammer(endpoint.url, args.connections, args.warmup))
            figures: dict[str, list[tuple[float, float]]] = {e.name: [] for e in endpoints}
            for round_ in range(1, args.rounds + 1):
                for e in endpoints:
                    before = sum(tree_cpu_by_process(e.pid).values())
                    answers = asyncio.run(hammer(e.url, args.connections, args.duration))
                    used = sum(tree_cpu_by_process(e.pid).values()) - before
                    rate, cpu = answers / args.duration, 1e6 * used / max(answers, 1)
                    figures[e.name].append((rate, cpu))
                    print(
                        f"floor  round {round_}  {e.name:<20} {rate:>8.0f} requests/s  "
                        f"{cpu:>6.0f} µs CPU/request",
                        flush=True,
                    )
        finally:
            for endpoint in endpoints:
                endpoint.stop()
    print(
        f"\nA trivial JSON endpoint, one process each, {args.connections} connections, "
        f"medians of {args.rounds} rounds of {args.duration:g} s:\n"
    )
    print("| server | requests/s | server CPU µs per request |\n|---|---|---|")
    for name, rows in figures.items():
        rate = statistics.median(r for r, _ in rows)
        cpu = statistics.median(c for _, c in rows)
        print(f"| {name} | {rate:,.0f} | {cpu:,.0f} |")


def start_granian(site_url: str, client_id: str, secret: str, usernames: list[str]) -> Server:
    """leerid's app factory under granian, 2 workers, on the seeded schema."""
    granian = BIN / "granian"
    if not granian.exists():
        raise SystemExit(f"granian is not installed in {BIN}: run `make install`")
    port = free_port()
    env = {
        **os.environ,
        **FAST_ARGON2,
        "LEERID_DATABASE_URL": site_url,
        "LEERID_ISSUER": f"http://127.0.0.1:{port}/op",
        "LEERID_HASH_CONCURRENCY": "1",  # what `leerid idp serve --workers 2` hands each worker
        "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="leerid-bench-metrics-"),
    }
    argv = [str(granian), "--interface", "asgi", "--factory", "--workers", "2", "--loop", "uvloop"]
    argv += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-ws"]
    process = _popen([*argv, "leerid.idp.app:create_app"], Path.cwd(), env)
    engine = create_engine(site_url, pool_size=1)

    def stop() -> None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        engine.dispose()

    try:
        _wait(f"http://127.0.0.1:{port}/healthz", process)
        fields = {"client_id": client_id, "client_secret": secret, "login_field": "username"}
        target = asyncio.run(
            discover(
                f"http://127.0.0.1:{port}/op",
                name=LABELS["granian"],
                usernames=usernames,
                password=PASSWORD,
                **fields,
            )
        )
    except BaseException:
        stop()
        raise
    return Server(
        "granian",
        target,
        process.pid,
        "postgres",
        stop,
        lambda: postgres_backends(engine, process.pid),
    )


def run_servers(args: argparse.Namespace) -> None:
    """The servers part: leerid's SSO flows under uvicorn and granian, alternating."""
    LABELS["granian"] = "leerid, granian"
    LABELS["leerid"] = "leerid, uvicorn"
    site = seed_leerid(args.database_url, args.browsers, args.schema)
    names = site.usernames["fast"][: args.browsers]
    servers = [start_leerid(site, "fast", args.browsers, {})]
    try:
        servers.append(start_granian(site.url, site.client_id, site.secret, names))
        figures = asyncio.run(alternate(servers, "sso", args))
    finally:
        for server in servers:
            server.stop()
    rates, cpu = medians(figures)["sso"], medians(figures, cpu_per_flow)["sso"]
    print(
        f"\nleerid's SSO flows, 2 workers on PostgreSQL, {args.browsers} browsers, "
        f"medians of {args.rounds} rounds of {args.duration:g} s:\n"
    )
    print("| server | SSO flows/s | server + PostgreSQL CPU ms per flow |\n|---|---|---|")
    for key in ("leerid", "granian"):
        print(f"| {LABELS[key]} | {rates[key]:.0f} | {cpu[key]:.2f} |")


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default=",".join(PARTS), help="floor, servers or both")
    database_url_option(parser, "PostgreSQL for the servers part (it makes its own schema)")
    parser.add_argument(
        "--schema", default="bench_asgi_servers", help="servers: the schema made afresh for it"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per timed run")
    parser.add_argument("--warmup", type=float, default=1.5, help="seconds per server, not timed")
    parser.add_argument("--connections", type=int, default=16, help="floor: connections")
    parser.add_argument("--browsers", type=int, default=16, help="servers: simulated browsers")
    args = parser.parse_args()
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    if not parts or parts - set(PARTS):
        parser.error(f"--parts {args.parts!r}: choose among {', '.join(PARTS)}")
    if not 1 <= args.rounds <= 20 or not 0 < args.duration <= 600 or not 0 < args.warmup <= 60:
        parser.error("--rounds must be 1..20, --duration 0..600 s and --warmup 0..60 s")
    if not 1 <= args.connections <= 500 or not 1 <= args.browsers <= 500:
        parser.error("--connections and --browsers must be 1..500")
    args.parts = [p for p in PARTS if p in parts]
    return args


def main() -> None:
    args = arguments()
    print(f"load before: {os.getloadavg()[0]:.2f}", flush=True)
    if "floor" in args.parts:
        run_floor(args)
    if "servers" in args.parts:
        run_servers(args)
    print(f"\nload after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
