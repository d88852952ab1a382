"""A real identity provider for tests: seeded database + ``leerid idp serve`` on loopback.

Usage (any test that has a ``database_url``)::

    from tests.idp_server import running_idp

    def test_something(database_url):
        with running_idp(database_url) as idp:
            idp.issuer          # e.g. http://127.0.0.1:54321/op
            idp.client_id, idp.client_secret, idp.redirect_uri
            idp.username, idp.password     # a pupil who can log in
            idp.pupil                      # SeededPupil: account_uuid, leer_id_uuid, insz, names

What it does:

- ``seed_idp(database_url)`` migrates the schema, inserts one identified pupil (registration,
  enrolment active today in school 012345, a permanent account, a credential with an Argon2id
  hash), stores ``protocols/dov-lars-glce-2024.yaml`` with ``add_protocol`` and registers a
  ``client_secret_basic`` client bound to it (redirect ``http://127.0.0.1/cb``; logout
  ``http://127.0.0.1/bye``). Seeding twice on one database adds another pupil and client.
- ``start_idp(database_url, env=...)`` starts ``python -m leerid.cli.main idp serve`` on a
  free port in a subprocess (its stderr goes to a file: ``server.log_text()``) and waits for
  ``/healthz``. ``running_idp`` does both and stops the server afterwards.
- ``more_env`` is passed to the server, e.g. ``{"LEERID_ARGON2_MEMORY_KIB": "1024"}``.
  The server caches clients, protocols and keys for 1 s (``LEERID_CACHE_SECONDS``).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from argon2 import PasswordHasher as Argon2
from sqlalchemy.orm import Session

from leerid.idp.store.clients import add_client
from leerid.idp.store.protocols import add_protocol
from leerid.protocol import load_protocol
from leerid.registry.models import Credential
from leerid.schema import upgrade
from leerid.store.engine import make_engine
from tests.registry_seed import add_pupil

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL_FILE = ROOT / "protocols" / "dov-lars-glce-2024.yaml"
PROTOCOL_ID = load_protocol(PROTOCOL_FILE).id
REDIRECT_URI = "http://127.0.0.1/cb"
LOGOUT_URI = "http://127.0.0.1/bye"
SCHOOL = "012345"


@dataclass(frozen=True)
class SeededPupil:
    """The pupil the tests log in as."""

    account_uuid: str
    leer_id_uuid: str
    insz: str
    naam: str
    voornaam: str
    username: str
    password: str
    school: str = SCHOOL


@dataclass(frozen=True)
class Seed:
    """What ``seed_idp`` created."""

    pupil: SeededPupil
    client_id: str
    client_secret: str
    protocol_id: str
    redirect_uri: str = REDIRECT_URI
    post_logout_redirect_uri: str = LOGOUT_URI


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def random_insz() -> str:
    """A valid national register number of a child born in 2012 (check digits mod 97)."""
    import random

    first9 = f"12{random.randint(1, 12):02d}{random.randint(1, 28):02d}{random.randint(1, 997):03d}"
    return first9 + f"{97 - int('2' + first9) % 97:02d}"


def seed_pupil(
    database_url: str,
    *,
    insz: str | None = None,
    password: str | None = None,
    naam: str = "Vermeulen",
    voornaam: str = "Lotte",
) -> SeededPupil:
    """Insert one identified pupil with an active enrolment, an account and a credential."""
    engine = make_engine(database_url)
    upgrade(engine)
    password = password or f"pw-{uuid.uuid4().hex[:12]}"
    insz = insz or random_insz()
    username = f"lotte.{uuid.uuid4().hex[:8]}"
    leer_id_uuid = str(uuid.uuid4())
    today = dt.date.today()
    account_uuid = add_pupil(
        engine,
        voornaam,
        naam,
        SCHOOL,
        begindatum=today - dt.timedelta(days=30),
        groep="000001",
        insz=insz,
        leer_id_uuid=leer_id_uuid,
        geboortedatum=dt.date(2000, 9, 15),
    )
    with Session(engine) as session, session.begin():
        session.add(
            Credential(
                account_uuid=account_uuid,
                username=username,
                password_hash=Argon2(memory_cost=19456, time_cost=2, parallelism=1).hash(password),
            )
        )
    engine.dispose()
    return SeededPupil(account_uuid, leer_id_uuid, insz, naam, voornaam, username, password)


def store_protocol(database_url: str, path: Path = PROTOCOL_FILE) -> str:
    """Store a protocol file with ``add_protocol``; returns its id."""
    engine = make_engine(database_url)
    upgrade(engine)
    with Session(engine) as session, session.begin():
        stored = add_protocol(session, load_protocol(path), path.read_text(encoding="utf-8"))
    engine.dispose()
    return stored.protocol_id


def seed_idp(database_url: str, **client_options: object) -> Seed:
    """Pupil, protocol and a client (``client_options`` go to ``add_client``)."""
    pupil = seed_pupil(database_url)
    protocol_id = store_protocol(database_url)
    engine = make_engine(database_url)
    options: dict[str, object] = {
        "name": "LARS (test)",
        "protocol_id": protocol_id,
        "redirect_uris": [REDIRECT_URI],
        "post_logout_redirect_uris": [LOGOUT_URI],
    }
    options.update(client_options)
    client, secret = add_client(engine, **options)  # type: ignore[arg-type]
    engine.dispose()
    return Seed(pupil, client.client_id, secret or "", protocol_id)


@dataclass
class IdpProcess:
    """A running ``leerid idp serve``."""

    base_url: str
    issuer: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_text(self) -> str:
        """Everything the server wrote to stdout and stderr so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 10 s)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def start_idp(
    database_url: str, *, more_env: dict[str, str] | None = None, workers: int = 1
) -> IdpProcess:
    """Start ``leerid idp serve`` on a free loopback port and wait until it answers."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(os.environ)
    env.update(
        {
            "LEERID_DATABASE_URL": database_url,
            "LEERID_ISSUER": f"{base}/op",
            "LEERID_CACHE_SECONDS": "1",  # rotations and disabled clients seen within 1 s
        }
    )
    env.update(more_env or {})
    log_path = Path(tempfile.mkstemp(prefix="leerid-idp-", suffix=".log")[1])
    with log_path.open("wb") as log:
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
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = IdpProcess(base, f"{base}/op", process, log_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"idp server exited:\n{server.log_text()}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"idp server did not start:\n{server.log_text()}")


@dataclass
class RunningIdp:
    """A seeded, running identity provider."""

    server: IdpProcess
    seed: Seed
    database_url: str
    extra: list[IdpProcess] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return self.server.issuer

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def client_id(self) -> str:
        return self.seed.client_id

    @property
    def client_secret(self) -> str:
        return self.seed.client_secret

    @property
    def redirect_uri(self) -> str:
        return self.seed.redirect_uri

    @property
    def pupil(self) -> SeededPupil:
        return self.seed.pupil

    @property
    def username(self) -> str:
        return self.seed.pupil.username

    @property
    def password(self) -> str:
        return self.seed.pupil.password


@contextmanager
def running_idp(
    database_url: str,
    *,
    more_env: dict[str, str] | None = None,
    workers: int = 1,
    **client_options: object,
) -> Iterator[RunningIdp]:
    """Seed ``database_url`` and run a provider on it for the duration of the block."""
    seed = seed_idp(database_url, **client_options)
    server = start_idp(database_url, more_env=more_env, workers=workers)
    try:
        yield RunningIdp(server, seed, database_url)
    finally:
        server.stop()
