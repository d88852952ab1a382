"""Benchmark: complete OpenID Connect flows against a LeerID identity provider on loopback.

Issue 4 §7. Each flow is what a pupil's browser and a service provider do together:
authorize → (login form → password) → code → token (PKCE, client_secret_basic) → userinfo,
with the ID token verified as a client would (joserfc: signature by ``kid``, ``iss``,
``aud``, ``nonce``, ``exp``). N virtual pupils run concurrently (asyncio), each with its own
cookie jar and its service provider's own connection. HTTP goes through a minimal
keep-alive HTTP/1.1 client (``RawHttp``) by default, or through httpx with ``--http httpx``
(which costs the shared cores a few milliseconds per request more).

Scenarios (targets from issue 4 §7, on a 2-core machine with the load generator beside it):

- ``sso``: the pupil has an SSO session cookie; no password (target 600 flows/s).
- ``fast``: a password login with a negligible Argon2id cost, the flow's own cost
  (target 250 flows/s).
- ``owasp``: a password login at OWASP's Argon2id cost, 19 MiB, 2 passes (target 30 flows/s).

By default the bench makes a fresh schema ``bench_login_flow`` in the database of
``--database-url`` (PostgreSQL), seeds it with ``leerid.testing`` (synthetic DISCIMUS files
through the importer, the schools' activation codes activated with the bench's password, the
seed protocol, one client), and starts ``leerid idp serve --workers 2`` itself: once with a
negligible hash for ``sso`` and ``fast``, once with OWASP's for ``owasp``. With ``--url`` it
drives a server that is already running on that database (seeding it first with new pupils);
that server's Argon2 settings decide what the password scenarios measure. Loopback only;
every loop is bounded by time and by count.

    .venv/bin/python bench/login_flow.py                      # all three, 32 clients, 20 s each
    .venv/bin/python bench/login_flow.py --scenarios sso --clients 64 --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import resource
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from leerid.errors import LeeridError
from leerid.idp.login.passwords import OWASP, Argon2Parameters
from leerid.schema import upgrade
from leerid.store.engine import make_engine
from leerid.testing.browser import hidden_fields
from leerid.testing.databases import fresh_schema, schema_url
from leerid.testing.relying_party import (
    authorization_url,
    basic_auth,
    code_from,
    pkce_pair,
    token_form,
    verify_id_token,
)
from leerid.testing.seeding import (
    activate,
    hash_password,
    issue_codes,
    register_client,
    schools,
    seed_registry,
    store_protocol,
)
from leerid.testing.servers import ServerProcess, healthy, start_idp

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL_FILE = ROOT / "protocols" / "dov-lars-glce-2024.yaml"
REDIRECT_URI = "http://127.0.0.1/cb"
SCHEMA = "bench_login_flow"
PASSWORD = "bench: groene kikker springt ver"
SCOPE = "openid profile ov_leerling"
TARGETS = {"sso": 600.0, "fast": 250.0, "owasp": 30.0}
FAST_ARGON2 = {"LEERID_ARGON2_MEMORY_KIB": "8", "LEERID_ARGON2_TIME_COST": "1"}
FAST = Argon2Parameters(memory_kib=8, time_cost=1, parallelism=1)
MAX_FLOWS_PER_CLIENT = 100_000


@dataclass
class Site:
    """A server under test and what was seeded for it."""

    issuer: str
    client_id: str
    client_secret: str
    usernames: dict[str, list[str]]  # "fast" / "owasp" → usernames


@dataclass
class Result:
    """The figures of one scenario."""

    scenario: str
    clients: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    server_cpu: float | None = None  # CPU seconds of the server's processes while measured
    postgres_cpu: float = 0.0  # CPU seconds of every postgres process (shared: others count)
    generator_cpu: float = 0.0  # CPU seconds of this load generator while measured

    def per_flow(self, seconds: float | None) -> str:
        """CPU milliseconds per measured flow, or ``-``."""
        if seconds is None or not self.latencies:
            return "-"
        return f"{seconds * 1000 / len(self.latencies):.2f}"

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


def _processes() -> Iterator[tuple[int, str, list[str]]]:
    """(pid, name, fields of /proc/PID/stat after the name) of every process (Linux)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            _pid, _, rest = Path(f"/proc/{entry}/stat").read_text().partition(" (")
            comm, _, fields = rest.rpartition(")")
        except OSError:
            continue
        yield int(entry), comm, fields.split()


def _cpu_seconds(fields: list[str]) -> float:
    """utime + stime of a /proc stat line (fields 14 and 15)."""
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_by_process(root: int) -> dict[int, float]:
    """pid → CPU seconds (user + system) of process ``root`` and each of its descendants."""
    table = {pid: f for pid, _name, f in _processes()}
    tree, grown = {root}, True
    while grown:
        children = {pid for pid, f in table.items() if int(f[1]) in tree} - tree
        tree, grown = tree | children, bool(children)
    return {pid: _cpu_seconds(table[pid]) for pid in tree if pid in table}


def process_tree_cpu(root: int) -> float:
    """CPU seconds (user + system) of process ``root`` and all its descendants."""
    return sum(tree_cpu_by_process(root).values())


def cpu_by_process(name: str) -> dict[int, float]:
    """pid → CPU seconds of every process called ``name`` on this machine."""
    return {pid: _cpu_seconds(f) for pid, comm, f in _processes() if comm == name}


def named_cpu(name: str) -> float:
    """CPU seconds of every process called ``name`` on this machine (0 when none here)."""
    return sum(cpu_by_process(name).values())


def postgres_cpu() -> float:
    """CPU seconds of every process named ``postgres`` on this machine (0 when none here)."""
    return named_cpu("postgres")


def own_cpu() -> float:
    """CPU seconds of this process (every thread)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- seeding and the server -----------------------------------------------------------------


def seed(url: str, pupils: int, run: int) -> tuple[str, str, dict[str, list[str]]]:
    """Pupils (half with a negligible hash, half OWASP), the protocol, one client.

    The registry comes from generated DISCIMUS files (``run`` seeds them: a new run on a
    used schema adds new pupils) through the importer; each school's activation codes are
    activated with ``PASSWORD``, hashed once per kind.
    """
    engine = make_engine(url)
    upgrade(engine)
    with tempfile.TemporaryDirectory(prefix="leerid-bench-") as folder:
        seed_registry(engine, Path(folder), 2 * pupils, seed=run, unidentified_share=0.0)
    issued = issue_codes(engine, schools(engine))
    if len(issued) < 2:
        raise SystemExit("the generated registry gave fewer than two pupils to log in")
    kinds = {"fast": issued[: len(issued) // 2], "owasp": issued[len(issued) // 2 :]}
    for kind, parameters in (("fast", FAST), ("owasp", OWASP)):
        password_hash = hash_password(PASSWORD, parameters)
        activate(engine, [(c.username, c.code, password_hash) for c in kinds[kind]])
    client_id, secret = register_client(
        engine,
        name="LARS (bench)",
        protocol_id=store_protocol(engine, PROTOCOL_FILE),
        redirect_uris=[REDIRECT_URI],
        post_logout_redirect_uris=[],
    )
    engine.dispose()
    return client_id, secret, {kind: [c.username for c in kinds[kind]] for kind in kinds}


def start_server(url: str, workers: int, extra_env: dict[str, str]) -> ServerProcess:
    """``leerid idp serve`` on ``url`` (stopped by its own pid only)."""
    try:
        return start_idp(url, env=extra_env, workers=workers)
    except LeeridError as exc:
        raise SystemExit(str(exc)) from None


# --- HTTP for the load generator ------------------------------------------------------------


@dataclass
class Answer:
    """An HTTP response as the flows need it."""

    status: int
    headers: dict[str, str]  # lower-case names; Set-Cookie handled by the client
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class RawHttp:
    """A minimal HTTP/1.1 keep-alive client for loopback, with a cookie jar.

    The load generator runs on the same two cores as the server: httpx costs a few
    milliseconds of CPU per request, which would measure httpx rather than the provider.
    This client only does what the flows need (one connection, Content-Length or chunked
    bodies, cookies by name), and reconnects when the server closes.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.cookies: dict[str, str] = {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None or self._writer.is_closing():
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self._reader, self._writer

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None

    async def request(
        self, method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Answer:
        for attempt in range(2):  # once more on a fresh connection if the old one was closed
            reader, writer = await self._connect()
            lines = [f"{method} {target} HTTP/1.1", f"Host: {self.host}:{self.port}"]
            if self.cookies:
                lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
            for name, value in (headers or {}).items():
                lines.append(f"{name}: {value}")
            if method == "POST":
                lines.append(f"Content-Length: {len(body)}")
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                await self.close()
                if attempt:
                    raise
                continue
            return await self._read(reader, head)
        raise FlowError("unreachable")

    async def _read(self, reader: asyncio.StreamReader, head: bytes) -> Answer:
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in header_lines:
            if not line:
                continue
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie":
                self._set_cookie(value)
            else:
                headers[name] = value
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            parts = []
            for _ in range(100_000):
                size = int((await reader.readuntil(b"\r\n")).strip(), 16)
                chunk = await reader.readexactly(size + 2)
                if size == 0:
                    break
                parts.append(chunk[:-2])
            body = b"".join(parts)
        else:
            body = b""
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return Answer(status, headers, body)

    def _set_cookie(self, value: str) -> None:
        pair, _, attributes = value.partition(";")
        name, _, cookie = pair.strip().partition("=")
        attrs = attributes.lower()
        if "max-age=0" in attrs or "expires=thu, 01 jan 1970" in attrs or not cookie:
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = cookie.strip('"')

    async def get(self, target: str, headers: dict[str, str] | None = None) -> Answer:
        return await self.request("GET", target, headers=headers)

    async def post(
        self, target: str, form: dict[str, str], headers: dict[str, str] | None = None
    ) -> Answer:
        all_headers = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        return await self.request("POST", target, urlencode(form).encode(), all_headers)


class HttpxHttp:
    """The same interface over ``httpx.AsyncClient`` (``--http httpx``)."""

    def __init__(self, host: str, port: int) -> None:
        self._client = httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=60.0)

    @property
    def cookies(self) -> httpx.Cookies:
        return self._client.cookies

    async def close(self) -> None:
        await self._client.aclose()

    def _answer(self, response: httpx.Response) -> Answer:
        return Answer(response.status_code, dict(response.headers), response.content)

    async def get(self, target: str, headers: dict[str, str] | None = None) -> Answer:
        return self._answer(await self._client.get(target, headers=headers))

    async def post(
        self, target: str, form: dict[str, str], headers: dict[str, str] | None = None
    ) -> Answer:
        return self._answer(await self._client.post(target, data=form, headers=headers))


Http = RawHttp | HttpxHttp


# --- one flow ------------------------------------------------------------------------------


class FlowError(Exception):
    """A flow that did not end with verified claims."""


class RelyingParty:
    """What the service provider does: redeem the code, verify the ID token, call userinfo."""

    def __init__(self, site: Site, http: Http) -> None:
        self.site = site
        self.http = http
        self.path = urlsplit(site.issuer).path
        self.keys: KeySet | None = None

    async def key_set(self, refresh: bool = False) -> KeySet:
        if self.keys is None or refresh:
            answer = await self.http.get(f"{self.path}/v1/keys")
            self.keys = KeySet.import_key_set(answer.json())
        return self.keys

    async def finish(self, location: str, state: str, nonce: str, verifier: str) -> None:
        code = code_from(location, state, self.site.issuer)
        answer = await self.http.post(
            f"{self.path}/v1/token",
            token_form(code, REDIRECT_URI, verifier),
            basic_auth(self.site.client_id, self.site.client_secret),
        )
        if answer.status != 200:
            raise FlowError(f"token: {answer.status} {answer.text[:200]}")
        tokens = answer.json()
        site = self.site
        try:
            _, claims = verify_id_token(
                tokens["id_token"], await self.key_set(), site.issuer, site.client_id, nonce
            )
        except (ValueError, LeeridError):  # an unknown kid after a rotation: refetch once
            keys = await self.key_set(refresh=True)
            _, claims = verify_id_token(
                tokens["id_token"], keys, site.issuer, site.client_id, nonce
            )
        info = await self.http.get(
            f"{self.path}/v1/userinfo",
            {"Authorization": f"Bearer {tokens['access_token']}"},
        )
        if info.status != 200 or info.json().get("sub") != claims["sub"]:
            raise FlowError(f"userinfo: {info.status} {info.text[:200]}")


async def one_flow(browser: Http, rp: RelyingParty, username: str | None) -> None:
    """One complete flow; ``username`` None: expect single sign-on (no login page)."""
    verifier, challenge = pkce_pair()
    target, state, nonce = authorization_url(
        rp.path, rp.site.client_id, REDIRECT_URI, challenge, scope=SCOPE
    )
    answer = await browser.get(target)
    if username is not None:
        if answer.status != 200:
            raise FlowError(f"auth: expected the login page, got {answer.status}")
        fields = hidden_fields(answer.text)
        answer = await browser.post(
            f"{rp.path}/v1/login", {**fields, "username": username, "password": PASSWORD}
        )
    if answer.status != 303:
        raise FlowError(f"expected a redirect to the client, got {answer.status}")
    await rp.finish(answer.headers["location"], state, nonce, verifier)


# --- the load ------------------------------------------------------------------------------


async def run_scenario(
    site: Site,
    scenario: str,
    clients: int,
    duration: float,
    warmup: float,
    http: str = "raw",
    server_pid: int | None = None,
) -> Result:
    result = Result(scenario, clients, duration)
    names = site.usernames["owasp" if scenario == "owasp" else "fast"]
    parts = urlsplit(site.issuer)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    kind = HttpxHttp if http == "httpx" else RawHttp
    browsers: list[Http] = [kind(host, port) for _ in range(clients)]
    rps = [RelyingParty(site, kind(host, port)) for _ in range(clients)]
    try:
        for rp in rps:
            await rp.key_set()
        if scenario == "sso":  # each pupil logs in once; then only the session cookie
            await asyncio.gather(
                *(one_flow(b, rps[i], names[i % len(names)]) for i, b in enumerate(browsers))
            )
        start = time.monotonic()
        measure_from = start + warmup
        stop_at = measure_from + duration

        async def meter() -> None:
            """CPU used by the server and by this generator during the measured window."""
            await asyncio.sleep(max(0.0, measure_from - time.monotonic()))
            server0 = process_tree_cpu(server_pid) if server_pid else None
            own0, pg0 = own_cpu(), postgres_cpu()
            await asyncio.sleep(max(0.0, stop_at - time.monotonic()))
            result.postgres_cpu = postgres_cpu() - pg0
            if server0 is not None and server_pid:
                result.server_cpu = process_tree_cpu(server_pid) - server0
            result.generator_cpu = own_cpu() - own0

        async def pupil(i: int, browser: Http) -> None:
            for n in range(MAX_FLOWS_PER_CLIENT):
                began = time.monotonic()
                if began >= stop_at:
                    return
                username = None
                if scenario != "sso":
                    browser.cookies.clear()  # a new browser: no session, no CSRF cookie
                    username = names[(i + n * clients) % len(names)]
                try:
                    await asyncio.wait_for(one_flow(browser, rps[i], username), 60)
                except (
                    FlowError,
                    OSError,
                    TimeoutError,
                    KeyError,
                    ValueError,
                    JoseError,
                    LeeridError,
                    httpx.HTTPError,
                ) as exc:
                    if began >= measure_from:
                        result.errors.append(f"{type(exc).__name__}: {exc}"[:300])
                    await browser.close()
                    await rps[i].http.close()
                    continue
                ended = time.monotonic()
                if began >= measure_from and ended <= stop_at:
                    result.latencies.append(ended - began)

        await asyncio.gather(meter(), *(pupil(i, b) for i, b in enumerate(browsers)))
    finally:
        for connection in [*browsers, *(rp.http for rp in rps)]:
            await connection.close()
    return result


def report(results: list[Result], conditions: str) -> None:
    print()
    print(conditions)
    print()
    header = f"{'scenario':<8} {'clients':>7} {'flows':>7} {'flows/s':>8} {'p50 ms':>8} "
    header += f"{'p95 ms':>8} {'p99 ms':>8} {'errors':>6} {'target':>7} {'verdict':>7} "
    header += f"{'server CPU':>10} {'bench CPU':>9} {'pg CPU':>7}"
    print(header)
    print("-" * len(header))
    for r in results:
        target = TARGETS[r.scenario]
        verdict = "meets" if r.rate >= target else "MISSES"
        print(
            f"{r.scenario:<8} {r.clients:>7} {len(r.latencies):>7} {r.rate:>8.1f} "
            f"{r.percentile(50):>8.1f} {r.percentile(95):>8.1f} {r.percentile(99):>8.1f} "
            f"{len(r.errors):>6} {target:>7.0f} {verdict:>7} "
            f"{r.per_flow(r.server_cpu):>10} {r.per_flow(r.generator_cpu):>9} "
            f"{r.per_flow(r.postgres_cpu):>7}"
        )
    print(
        "(CPU: milliseconds per flow in the measured window; server = the uvicorn processes, "
        "bench = this load generator, pg = every postgres process, including other users')"
    )
    for r in results:
        for message in sorted(set(r.errors))[:5]:
            print(f"  {r.scenario} error: {message}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get(
            "LEERID_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
        help="PostgreSQL database; the bench works in its own schema " + SCHEMA,
    )
    parser.add_argument(
        "--url",
        help="a running server's base URL (it must use --database-url "
        "with search_path " + SCHEMA + ")",
    )
    parser.add_argument("--scenarios", default="sso,fast,owasp")
    parser.add_argument("--clients", type=int, default=32, help="concurrent virtual pupils")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds not measured")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--http", choices=["raw", "httpx"], default="raw", help="the load generator's HTTP client"
    )
    parser.add_argument("--pupils", type=int, default=2000, help="pupils per hash kind")
    args = parser.parse_args()
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(scenarios) - set(TARGETS)
    if unknown:
        parser.error(f"--scenarios: unknown {', '.join(sorted(unknown))}; use sso, fast, owasp")
    if not 1 <= args.clients <= 1000 or not 0 < args.duration <= 600:
        parser.error("--clients must be 1..1000 and --duration 0..600 s")
    if args.url and urlsplit(args.url).hostname not in ("127.0.0.1", "localhost", "::1"):
        parser.error("--url: loopback only")

    if args.url and not healthy(args.url.rstrip("/"), 10):
        parser.error(f"--url {args.url}: no answer from {args.url.rstrip('/')}/healthz")
    if args.url:
        url, run = schema_url(args.database_url, SCHEMA), 2 + secrets.randbelow(10**6)
    else:
        url, run = fresh_schema(args.database_url, SCHEMA), 1
    client_id, secret, usernames = seed(url, args.pupils, run)
    load = os.getloadavg()
    conditions = (
        f"LeerID login_flow bench — {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, "
        f"{os.cpu_count()} cores (load average before start {load[0]:.2f}), Python "
        f"{sys.version.split()[0]}, PostgreSQL, server: "
        + (args.url if args.url else f"leerid idp serve --workers {args.workers}")
        + f", load generator on the same machine, {args.clients} concurrent clients, "
        f"{args.warmup:.0f} s warm-up + {args.duration:.0f} s measured per scenario, "
        f"{args.pupils} pupils per hash kind, HTTP client {args.http}."
    )
    results: list[Result] = []
    groups: list[tuple[list[str], dict[str, str]]] = [
        ([s for s in scenarios if s in ("sso", "fast")], FAST_ARGON2),
        ([s for s in scenarios if s == "owasp"], {}),
    ]
    for group, env in groups:
        if not group:
            continue
        server = None if args.url else start_server(url, args.workers, env)
        base = args.url.rstrip("/") if args.url else server.base_url  # type: ignore[union-attr]
        site = Site(f"{base}/op", client_id, secret, usernames)
        try:
            for scenario in group:
                print(f"running {scenario} …", file=sys.stderr, flush=True)
                results.append(
                    asyncio.run(
                        run_scenario(
                            site,
                            scenario,
                            args.clients,
                            args.duration,
                            args.warmup,
                            args.http,
                            server.process.pid if server else None,
                        )
                    )
                )
        finally:
            if server is not None:
                server.stop()
    report(results, conditions)


if __name__ == "__main__":
    main()
