"""Benchmark: leerid and panva's oidc-provider side by side, one driver, one run (issue 15).

The servers, all on loopback: ``leerid idp serve --workers 2`` on PostgreSQL (a fresh schema
``bench_side_by_side``, seeded as ``bench/login_flow.py`` seeds, the disclosure log on), and
oidc-provider (``bench/peer/server.mjs``, one Node process, ``NODE_ENV=production``) once with
its state in Redis (``redis://127.0.0.1:6379/15``, flushed before each of its runs) and once
in memory. Each server is started once per scenario; the runs alternate (leerid, Redis,
memory) for ``--rounds`` rounds of ``--duration`` seconds, after a warm-up per server that is
not counted. The driver (``bench/_flow_client.py``) does complete code flows with PKCE,
verifies the ID token and calls userinfo; ``--browsers`` browsers, each its own cookie jar.

Scenarios: ``sso`` (each browser logs in once, then flows on its session), ``login`` (every
flow logs in with a password; leerid's hash negligible, Argon2id 8 KiB, 1 pass; the peer's
development login checks nothing), ``owasp`` (leerid only, OWASP's Argon2id cost).

    .venv/bin/python bench/side_by_side.py                    # sso + login, every server
    .venv/bin/python bench/side_by_side.py --scenarios owasp --rounds 1
    .venv/bin/python bench/side_by_side.py --servers leerid,memory --leerid-env LEERID_X=1

``floor`` (sso only) is ``bench/floor_app.py``: the flow's messages and cryptography on
leerid's stack with nothing stored, the least a provider on this stack spends; with it and
leerid the summary prints the most a provider on this stack and store can reach.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from _flow_client import Run, drive
from _side_servers import (
    LABELS,
    PEER_NODE,
    REDIS_START,
    ROOT,
    LeeridSite,
    Server,
    flush_redis,
    redis_command,
    seed_leerid,
    servers_for,
)
from login_flow import cpu_by_process, own_cpu, tree_cpu_by_process
from sqlalchemy.engine import make_url

SERVERS = ("leerid", "redis", "memory", "floor")
SCENARIOS = ("sso", "login", "owasp")
ROWS = {"sso": "SSO flows/s", "login": "login flows/s, negligible hash"}
MAX_ERROR_SHARE = 0.01


@dataclass
class Figures:
    """One timed run."""

    server: str
    scenario: str
    round: int
    flows: int
    flows_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: dict[str, int]
    server_cpu_s: float
    store_cpu_s: float
    driver_cpu_s: float
    load: list[float] = field(default_factory=list)


# --- the runs --------------------------------------------------------------------------------


async def measure(server: Server, scenario: str, round_: int, args: argparse.Namespace) -> Figures:
    """One timed run of ``scenario`` on ``server``, with the CPU seconds of each side."""
    if server.key == "redis":
        flush_redis()
    before: dict[str, dict[int, float]] = {}

    def started() -> None:
        before.update(server=tree_cpu_by_process(server.pid), store=_store(server))
        before["driver"] = {0: own_cpu()}

    run = await drive(server.target, scenario, args.browsers, args.duration, started)
    # Per process: one that ends during the run must not count negatively. The server's new
    # processes count whole; the store's are the server's own when known (other users of the
    # same PostgreSQL do not count), else those that lived through the run.
    server_cpu = _used(before["server"], tree_cpu_by_process(server.pid), new=True)
    if server.store_pids is None:  # every process of the store that lived through the run
        store_cpu = _used(before["store"], _store(server), new=False)
    else:  # its own processes (leerid's PostgreSQL backends), new ones whole
        ours = server.store_pids()
        after = {pid: s for pid, s in _store(server).items() if pid in ours}
        store_cpu = _used(before["store"], after, new=True)
    driver_cpu = own_cpu() - before["driver"][0]
    figures = _figures(server, scenario, round_, run, [server_cpu, store_cpu, driver_cpu])
    print_run(figures)
    _check(server, scenario, run, f"round {round_}")
    return figures


def _store(server: Server) -> dict[int, float]:
    return cpu_by_process(server.store) if server.store else {}


def _used(before: dict[int, float], after: dict[int, float], new: bool) -> float:
    """CPU seconds used between two snapshots (pid → seconds); ``new``: count new pids."""
    return sum(s - before.get(pid, 0.0) for pid, s in after.items() if new or pid in before)


def _figures(server: Server, scenario: str, round_: int, run: Run, cpu: list[float]) -> Figures:
    return Figures(
        server=server.key,
        scenario=scenario,
        round=round_,
        flows=len(run.latencies),
        flows_per_s=round(run.rate, 1),
        p50_ms=round(run.percentile(50), 1),
        p95_ms=round(run.percentile(95), 1),
        p99_ms=round(run.percentile(99), 1),
        errors=dict(run.errors),
        server_cpu_s=round(cpu[0], 2),
        store_cpu_s=round(cpu[1], 2),
        driver_cpu_s=round(cpu[2], 2),
        load=[round(x, 2) for x in os.getloadavg()],
    )


async def alternate(
    servers: list[Server], scenario: str, args: argparse.Namespace
) -> list[Figures]:
    """Warm each server up (not counted), then the rounds, alternating the servers."""
    for server in servers:
        if server.key == "redis":
            flush_redis()
        warm = await drive(server.target, scenario, args.browsers, args.warmup)
        _check(server, scenario, warm, "warm-up")
    return [
        await measure(server, scenario, round_, args)
        for round_ in range(1, args.rounds + 1)
        for server in servers
    ]


def _check(server: Server, scenario: str, run: Run, what: str) -> None:
    """Stop with the errors by kind when more than 1 % of the flows of ``run`` failed (or,
    in a timed run, none completed; a short warm-up may end before the first flow does)."""
    if run.error_share > MAX_ERROR_SHARE or (not run.latencies and what != "warm-up"):
        examples = "; ".join(f"{k}: {v}" for k, v in run.examples.items())
        raise SystemExit(
            f"{LABELS[server.key]}, {scenario} {what}: {sum(run.errors.values())} failed flows "
            f"and {len(run.latencies)} complete (more than {MAX_ERROR_SHARE:.0%} failed): "
            f"{examples or 'no flow completed'}"
        )


# --- the report ------------------------------------------------------------------------------


def print_run(f: Figures) -> None:
    errors = ", ".join(f"{k} {v}" for k, v in sorted(f.errors.items())) or "0"
    print(
        f"{f.scenario:<6} round {f.round}  {LABELS[f.server]:<22} {f.flows_per_s:>7.1f} flows/s  "
        f"p50/p95/p99 {f.p50_ms:.0f}/{f.p95_ms:.0f}/{f.p99_ms:.0f} ms  errors {errors}  "
        f"CPU s: server {f.server_cpu_s:.2f}, store {f.store_cpu_s:.2f}, "
        f"driver {f.driver_cpu_s:.2f} ({cpu_per_flow(f):.1f} ms/flow server + store)  "
        f"load {f.load[0]:.2f}",
        flush=True,
    )


def cpu_per_flow(f: Figures) -> float:
    """CPU milliseconds of the server and its store per completed flow."""
    return (f.server_cpu_s + f.store_cpu_s) * 1000 / f.flows if f.flows else float("nan")


def medians(
    figures: list[Figures], of: Callable[[Figures], float] = lambda f: f.flows_per_s
) -> dict[str, dict[str, float]]:
    """Scenario → server → the median over its rounds of ``of`` (by default flows/s)."""
    table: dict[str, dict[str, list[float]]] = {}
    for f in figures:
        table.setdefault(f.scenario, {}).setdefault(f.server, []).append(of(f))
    return {s: {k: statistics.median(v) for k, v in row.items()} for s, row in table.items()}


def markdown(middle: dict[str, dict[str, float]], unit: str = "flows/s") -> str:
    """The issue's table: medians and leerid's ratio to each peer.

    ``unit`` "CPU ms/flow": the ratio is the peer's over leerid's, so that above 1 still
    means leerid does better.
    """
    per_flow = unit != "flows/s"

    def ratio(leerid: float | None, peer: float | None) -> str:
        better, worse = (peer, leerid) if per_flow else (leerid, peer)
        return "-" if better is None or not worse else f"{better / worse:.2f}"

    lines = [
        "| scenario | oidc-provider, Redis | leerid | ratio | oidc-provider, memory | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for scenario, label in ROWS.items():
        row = middle.get(scenario)
        if row is None:
            continue
        r, le, m = row.get("redis"), row.get("leerid"), row.get("memory")
        cells = ["-" if v is None else f"{v:.{1 if per_flow else 0}f}" for v in (r, le, m)]
        lines.append(
            f"| {label.replace('flows/s', unit)} | {cells[0]} | {cells[1]} | {ratio(le, r)} | "
            f"{cells[2]} | {ratio(le, m)} |"
        )
    return "\n".join(lines)


def floor_bound(figures: list[Figures]) -> str | None:
    """What the floor (``bench/floor_app.py``) says about the goal, when it ran with leerid.

    On a machine where every side is CPU-bound, a provider can do at most ``cores / (its CPU
    + its store's + the driver's CPU per flow)`` flows/s. The floor's server CPU per flow is
    the least that leerid's stack spends. Added to it: leerid's PostgreSQL CPU per flow of
    the same run (the statements the protocol asks for: art. 5, the data fetched at each
    login; art. 6, each answer recorded, with its log entry of issue 12; art. 8 and 11, the
    protocol's end checked) and the floor's driver CPU per flow (the least the driver
    spends). That is the most any provider on this stack and this store can reach, to set
    against 1.25 x the Redis peer.
    """
    sso = [f for f in figures if f.scenario == "sso" and f.flows]
    by = {key: [f for f in sso if f.server == key] for key in SERVERS}
    if not by["floor"] or not by["leerid"]:
        return None

    def per_flow(key: str, cpu: Callable[[Figures], float]) -> float:
        return statistics.median(cpu(f) * 1000 / f.flows for f in by[key])

    floor_server = per_flow("floor", lambda f: f.server_cpu_s)
    floor_driver = per_flow("floor", lambda f: f.driver_cpu_s)
    store = per_flow("leerid", lambda f: f.store_cpu_s)
    if store == 0:  # not counted (a Unix socket): a bound without the store would mislead
        return None
    cores = len(os.sched_getaffinity(0))  # the cores this run may use
    least = floor_server + store + floor_driver  # CPU ms per flow
    most = cores * 1000 / least
    rate = statistics.median(f.flows_per_s for f in by["floor"])
    lines = [
        f"Floor (bench/floor_app.py, no store): {rate:.0f} SSO flows/s, server "
        f"{floor_server:.2f} ms and driver {floor_driver:.2f} ms of CPU per flow.",
        f"With leerid's PostgreSQL CPU per flow of this run ({store:.2f} ms) added, a provider "
        f"on this stack can do at most {cores} cores / {least:.2f} ms = {most:.0f} SSO flows/s",
    ]
    for key in ("redis", "memory"):
        if by[key]:
            peer = statistics.median(f.flows_per_s for f in by[key])
            lines.append(f"  = {most / peer:.2f} x {LABELS[key]} ({peer:.0f} flows/s)")
    return "\n".join(lines)


def versions() -> dict[str, str]:
    """leerid's commit, Node's and oidc-provider's versions."""

    def output(argv: list[str]) -> str:
        try:
            return subprocess.run(argv, capture_output=True, text=True, check=False).stdout.strip()
        except OSError:
            return "?"

    commit = output(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    if output(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"]):
        commit += " (with uncommitted changes)"
    found: dict[str, str] = {"leerid": commit, "node": output(["node", "--version"])}
    for package in ("oidc-provider", "ioredis"):
        manifest = PEER_NODE / "node_modules" / package / "package.json"
        with contextlib.suppress(OSError, ValueError):
            found[package] = json.loads(manifest.read_text())["version"]
    found["python"] = sys.version.split()[0]
    return found


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


# --- main ------------------------------------------------------------------------------------


def _choices(value: str, allowed: tuple[str, ...]) -> list[str]:
    chosen = [v.strip() for v in value.split(",") if v.strip()]
    unknown = set(chosen) - set(allowed)
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(
            f"unknown {', '.join(sorted(unknown)) or 'nothing'}; choose among {', '.join(allowed)}"
        )
    return [v for v in allowed if v in chosen]  # the fixed order: leerid, Redis, memory, floor


def _setting(value: str) -> tuple[str, str]:
    key, sep, setting = value.partition("=")
    if not sep or not key.startswith("LEERID_"):
        raise argparse.ArgumentTypeError(f"--leerid-env {value!r}: write LEERID_NAME=VALUE")
    return key, setting


def database_url_option(parser: argparse.ArgumentParser, help: str) -> None:
    """``--database-url``, by default LEERID_BENCH_DATABASE_URL or the local PostgreSQL."""
    default = os.environ.get(
        "LEERID_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--database-url", default=default, help=help)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    database_url_option(
        parser, "leerid's PostgreSQL database (the bench makes its own schema there)"
    )
    parser.add_argument(
        "--servers",
        default="leerid,redis,memory,floor",
        type=lambda v: _choices(v, SERVERS),
        help="among leerid, redis, memory, floor (the floor runs in sso only)",
    )
    parser.add_argument("--scenarios", default="sso,login", type=lambda v: _choices(v, SCENARIOS))
    parser.add_argument("--browsers", type=int, default=16, help="simulated browsers")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per timed run")
    parser.add_argument("--warmup", type=float, default=1.5, help="seconds per server, not timed")
    parser.add_argument(
        "--leerid-env",
        type=_setting,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting for the leerid server (repeatable)",
    )
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    args = parser.parse_args()
    if not 1 <= args.browsers <= 500 or not 1 <= args.rounds <= 20:
        parser.error("--browsers must be 1..500 and --rounds 1..20")
    if not 0 < args.duration <= 600 or not 0 < args.warmup <= 60:
        parser.error("--duration must be 0..600 s and --warmup 0..60 s")
    args.leerid_env = dict(args.leerid_env)
    return args


def main() -> None:
    args = arguments()
    if "redis" in args.servers and redis_command("PING") != b"+PONG\r\n":
        print(
            "Redis does not answer at 127.0.0.1:6379: the Redis-backed oidc-provider is skipped. "
            f"Start Redis with: {REDIS_START}",
            file=sys.stderr,
        )
        args.servers.remove("redis")
    if "leerid" in args.servers and not _over_tcp(args.database_url):
        print(
            "leerid's PostgreSQL is reached through a Unix socket: its backends cannot be told "
            "apart from other users', so its store CPU is not counted (0) and the floor's bound "
            "is not printed. Give a TCP URL (host 127.0.0.1) to count it.",
            file=sys.stderr,
        )
    load_before = uptime()
    print(f"load before: {load_before}", flush=True)
    site: LeeridSite | None = None
    if "leerid" in args.servers:
        site = seed_leerid(args.database_url, args.browsers)
    figures: list[Figures] = []
    for scenario in args.scenarios:
        keys = ["leerid"] if scenario == "owasp" else args.servers
        if scenario == "owasp" and site is None:
            continue
        with servers_for(scenario, keys, site, args) as servers:
            figures += asyncio.run(alternate(servers, scenario, args))
    summary(figures, args, load_before)


def _over_tcp(database_url: str) -> bool:
    """Whether ``database_url`` reaches PostgreSQL over TCP (its backends found by port)."""
    url = make_url(database_url)
    host = url.host or url.query.get("host") or os.environ.get("PGHOST", "")
    return bool(host) and not str(host).startswith("/")


def summary(figures: list[Figures], args: argparse.Namespace, load_before: str) -> None:
    """The medians in the issue's table, OWASP per core, load, versions; ``--json``."""
    if not figures:
        print("Nothing was measured: no server of --servers is left for --scenarios.")
        return
    middle = medians(figures)
    found = versions()
    load_after = uptime()
    print()
    print(
        f"Medians of {args.rounds} rounds of {args.duration:g} s, {args.browsers} browsers, "
        f"leerid --workers 2 on PostgreSQL:"
    )
    if middle.keys() & ROWS.keys():
        print()
        print(markdown(middle))
        print("\nCPU of the server and its store per flow (steadier on a shared machine):\n")
        print(markdown(medians(figures, cpu_per_flow), "CPU ms/flow"))
    bound = floor_bound(figures)
    if bound is not None:
        print()
        print(bound)
    if "owasp" in middle:
        rate = middle["owasp"]["leerid"]
        print(
            f"\nleerid, password logins at OWASP's Argon2id cost: {rate:.1f} flows/s, "
            f"{rate / 2:.1f} per core (2 workers; issue 15 target ≥ 35 per core)"
        )
    print(f"\nload before: {load_before}\nload after:  {load_after}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in found.items()))
    if args.json:
        document = {
            "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "runs": [asdict(f) for f in figures],
            "medians": middle,
            "cpu_ms_per_flow": medians(figures, cpu_per_flow),
            "load_before": load_before,
            "load_after": load_after,
            "versions": found,
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
