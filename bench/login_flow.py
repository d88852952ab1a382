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
``--database-url`` (PostgreSQL), seeds pupils, the seed protocol and a client directly, and
starts ``leerid idp serve --workers 2`` itself: once with a negligible hash for ``sso`` and
``fast``, once with OWASP's for ``owasp``. With ``--url`` it drives a server that is already
running on that database (seeding it first); that server's Argon2 settings decide what the
password scenarios measure. Loopback only; every loop is bounded by time and by count.

    .venv/bin/python bench/login_flow.py                      # all three, 32 clients, 20 s each
    .venv/bin/python bench/login_flow.py --scenarios sso --clients 64 --duration 10
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import html
import json
import os
import re
import resource
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx
from argon2 import PasswordHasher as Argon2
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import create_engine, insert, text

from leerid.idp.store.clients import add_client
from leerid.idp.store.protocols import add_protocol
from leerid.protocol import load_protocol
from leerid.registry.models import Account, Credential, Enrolment, Pupil, Registration
from leerid.schema import upgrade
from leerid.store.engine import make_engine

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL_FILE = ROOT / "protocols" / "dov-lars-glce-2024.yaml"
REDIRECT_URI = "http://127.0.0.1/cb"
SCHEMA = "bench_login_flow"
PASSWORD = "bench: groene kikker springt ver"
SCOPE = "openid profile ov_leerling"
TARGETS = {"sso": 600.0, "fast": 250.0, "owasp": 30.0}
FAST_ARGON2 = {"LEERID_ARGON2_MEMORY_KIB": "8", "LEERID_ARGON2_TIME_COST": "1"}
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


def process_tree_cpu(root: int) -> float:
    """CPU seconds (user + system) of process ``root`` and its children."""
    return sum(_cpu_seconds(f) for pid, _name, f in _processes() if root in (pid, int(f[1])))


def postgres_cpu() -> float:
    """CPU seconds of every process named ``postgres`` on this machine (0 when none here)."""
    return sum(_cpu_seconds(f) for _pid, name, f in _processes() if name == "postgres")


def own_cpu() -> float:
    """CPU seconds of this process (every thread)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- seeding -------------------------------------------------------------------------------


def schema_url(database_url: str, schema: str) -> str:
    """``database_url`` with ``search_path`` set to ``schema`` (PostgreSQL)."""
    sep = "&" if "?" in database_url else "?"
    return f"{database_url}{sep}options={quote(f'-csearch_path={schema}')}"


def fresh_schema(database_url: str) -> str:
    """Drop and create the bench schema; the URL that works in it."""
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{SCHEMA}"'))
    admin.dispose()
    return schema_url(database_url, SCHEMA)


def argon2_hash(env: dict[str, str]) -> str:
    """``PASSWORD`` hashed with the parameters a server started with ``env`` uses."""
    return Argon2(
        memory_cost=int(env.get("LEERID_ARGON2_MEMORY_KIB", "19456")),
        time_cost=int(env.get("LEERID_ARGON2_TIME_COST", "2")),
        parallelism=1,
        hash_len=32,
        salt_len=16,
    ).hash(PASSWORD)


def seed(url: str, pupils: int) -> tuple[str, str, dict[str, list[str]]]:
    """Pupils (half with a negligible hash, half OWASP), the protocol, one client."""
    engine = make_engine(url)
    upgrade(engine)
    today = dt.date.today()
    now = dt.datetime.now(dt.UTC)
    usernames: dict[str, list[str]] = {"fast": [], "owasp": []}
    hashes = {"fast": argon2_hash(FAST_ARGON2), "owasp": argon2_hash({})}
    run = uuid.uuid4().hex[:6]
    with engine.begin() as conn:
        for kind in ("fast", "owasp"):
            rows = []
            for i in range(pupils):
                rows.append(
                    {
                        "leer_id_uuid": str(uuid.uuid4()),
                        "insz": None,
                        "naam": f"Bench{i}",
                        "voornaam": kind,
                        "geboortedatum": dt.date(2012, 1, 1),
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            ids = [
                r[0]
                for r in conn.execute(
                    insert(Pupil).returning(Pupil.id, sort_by_parameter_order=True), rows
                ).all()
            ]
            regs, enrols, accounts, creds = [], [], [], []
            for i, pupil_id in enumerate(ids):
                referte, account = f"b{run}{kind[0]}{i}", str(uuid.uuid4())
                username = f"bench.{run}{kind[0]}{i}"
                usernames[kind].append(username)
                regs.append(
                    {
                        "referte": referte,
                        "pupil_id": pupil_id,
                        "insz": None,
                        "naam": f"Bench{i}",
                        "voornaam": kind,
                        "geboortedatum": dt.date(2012, 1, 1),
                        "digest": "0" * 32,
                        "imported_at": now,
                    }
                )
                enrols.append(
                    {
                        "referte": referte,
                        "instellingsnummer": "099999",
                        "administratieve_groep": "000001",
                        "begindatum": today - dt.timedelta(days=30),
                        "einddatum": None,
                    }
                )
                accounts.append(
                    {
                        "account_uuid": account,
                        "pupil_id": pupil_id,
                        "status": "permanent",
                        "referte": referte,
                        "created_at": now,
                    }
                )
                creds.append(
                    {
                        "account_uuid": account,
                        "username": username,
                        "password_hash": hashes[kind],
                        "created_at": now,
                    }
                )
            conn.execute(insert(Registration), regs)
            conn.execute(insert(Enrolment), enrols)
            conn.execute(insert(Account), accounts)
            conn.execute(insert(Credential), creds)
    from sqlalchemy.orm import Session

    with Session(engine) as session, session.begin():
        protocol_id = add_protocol(
            session, load_protocol(PROTOCOL_FILE), PROTOCOL_FILE.read_text(encoding="utf-8")
        ).protocol_id
    client, secret = add_client(
        engine,
        name="LARS (bench)",
        protocol_id=protocol_id,
        redirect_uris=[REDIRECT_URI],
        post_logout_redirect_uris=[],
    )
    engine.dispose()
    return client.client_id, secret or "", usernames


# --- the server ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A ``leerid idp serve`` started by the bench (stopped by its own pid only)."""

    base: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_server(url: str, workers: int, extra_env: dict[str, str]) -> Server:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "LEERID_DATABASE_URL": url,
        "LEERID_ISSUER": f"{base}/op",
        **extra_env,
    }
    log = Path(tempfile.mkstemp(prefix="leerid-bench-", suffix=".log")[1])
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "leerid.cli.main",
                "idp",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(base, process, log)
    if not healthy(base, 60, process):
        server.stop()
        raise SystemExit(f"the server did not start in 60 s:\n{log.read_text()}")
    return server


def healthy(base: str, seconds: float, process: subprocess.Popen[bytes] | None = None) -> bool:
    """Whether ``base``/healthz answers 200 within ``seconds`` (False early if it exits)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


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


def basic_auth(client_id: str, secret: str) -> dict[str, str]:
    """RFC 6749 §2.3.1: client_secret_basic (form-urlencoded id and secret)."""
    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


# --- one flow ------------------------------------------------------------------------------

_HIDDEN = re.compile(r'name="(request|csrf_token)" value="([^"]*)"')


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


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
        query = parse_qs(urlsplit(location).query)
        if query.get("state") != [state] or query.get("iss") != [self.site.issuer]:
            raise FlowError(f"bad authorization response: {location[:200]}")
        answer = await self.http.post(
            f"{self.path}/v1/token",
            {
                "grant_type": "authorization_code",
                "code": query["code"][0],
                "redirect_uri": REDIRECT_URI,
                "code_verifier": verifier,
            },
            basic_auth(self.site.client_id, self.site.client_secret),
        )
        if answer.status != 200:
            raise FlowError(f"token: {answer.status} {answer.text[:200]}")
        tokens = answer.json()
        keys = await self.key_set()
        try:
            token = jwt.decode(tokens["id_token"], keys, algorithms=["RS256", "ES256", "PS256"])
        except ValueError:  # an unknown kid after a rotation: refetch once
            keys = await self.key_set(refresh=True)
            token = jwt.decode(tokens["id_token"], keys, algorithms=["RS256", "ES256", "PS256"])
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": self.site.issuer},
            aud={"essential": True, "value": self.site.client_id},
            nonce={"essential": True, "value": nonce},
            sub={"essential": True},
            exp={"essential": True},
        ).validate(token.claims)
        info = await self.http.get(
            f"{self.path}/v1/userinfo",
            {"Authorization": f"Bearer {tokens['access_token']}"},
        )
        if info.status != 200 or info.json().get("sub") != token.claims["sub"]:
            raise FlowError(f"userinfo: {info.status} {info.text[:200]}")


async def one_flow(browser: Http, rp: RelyingParty, username: str | None) -> None:
    """One complete flow; ``username`` None: expect single sign-on (no login page)."""
    verifier, challenge = pkce()
    state, nonce = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": rp.site.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": SCOPE,
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    answer = await browser.get(f"{rp.path}/v1/auth?{query}")
    if username is not None:
        if answer.status != 200:
            raise FlowError(f"auth: expected the login page, got {answer.status}")
        fields = {k: html.unescape(v) for k, v in _HIDDEN.findall(answer.text)}
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
    url = fresh_schema(args.database_url) if not args.url else schema_url(args.database_url, SCHEMA)
    client_id, secret, usernames = seed(url, args.pupils)
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
        base = args.url.rstrip("/") if args.url else server.base  # type: ignore[union-attr]
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
