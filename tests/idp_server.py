"""A real identity provider for tests: seeded database + ``leerid idp serve`` on loopback.

Usage (any test that has a ``database_url``)::

    from tests.idp_server import running_idp

    def test_something(database_url):
        with running_idp(database_url) as idp:
            idp.issuer          # e.g. http://127.0.0.1:54321/op
            idp.client_id, idp.client_secret, idp.redirect_uri
            idp.username, idp.password     # a pupil who can log in
            idp.pupil                      # SeededPupil: account_uuid, leer_id_uuid, insz, names

What it does, with ``leerid.testing`` (the kit the bench and the demo use too):

- ``seed_idp(database_url)`` migrates the schema, imports one identified pupil (DISCIMUS
  files through the importer: enrolment active today in school 012345, so a permanent
  account), gives it a username and a password through an activation code (Argon2id at
  OWASP's cost), stores
  ``protocols/dov-lars-glce-2024.yaml`` and registers a ``client_secret_basic`` client bound
  to it (redirect ``http://127.0.0.1/cb``; logout ``http://127.0.0.1/bye``). Seeding twice on
  one database adds another pupil and client.
- ``start_idp(database_url, more_env=...)`` starts ``leerid idp serve`` on a free port in a
  subprocess (its output goes to a file: ``server.log_text()``) and waits for ``/healthz``.
  ``running_idp`` does both and stops the server afterwards.
- ``more_env`` is passed to the server, e.g. ``{"LEERID_ARGON2_MEMORY_KIB": "1024"}``.
  The server caches clients, protocols and keys for 1 s (``LEERID_CACHE_SECONDS``).
"""

from __future__ import annotations

import datetime as dt
import random
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from leerid.idp.store.server_secret import load_server_secret
from leerid.idp.web.browser_state import Sealer
from leerid.protocol import load_protocol
from leerid.registry.insz import check_insz
from leerid.schema import upgrade
from leerid.store.engine import make_engine
from leerid.testing import seeding
from leerid.testing.discimus import Enrolled, RegistryPupil, import_pupils
from leerid.testing.servers import ServerProcess
from leerid.testing.servers import start_idp as start_server

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL_FILE = ROOT / "protocols" / "dov-lars-glce-2024.yaml"
PROTOCOL_ID = load_protocol(PROTOCOL_FILE).id
REDIRECT_URI = "http://127.0.0.1/cb"
LOGOUT_URI = "http://127.0.0.1/bye"
SCHOOL = "012345"
IdpProcess = ServerProcess


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


def random_insz() -> str:
    """A valid national register number of a child born in 2012 (check digits mod 97)."""
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
    """One identified pupil with an active enrolment, an account and an activated password."""
    engine = make_engine(database_url)
    upgrade(engine)
    password = password or f"pw-{uuid.uuid4().hex[:12]}"
    insz = insz or random_insz()
    username = f"lotte.{uuid.uuid4().hex[:8]}"
    born = check_insz(insz, dt.date.today()).birth_date or dt.date(2012, 9, 15)
    begin = dt.date.today() - dt.timedelta(days=30)
    (view,) = import_pupils(  # DISCIMUS files through the importer: identified, permanent
        engine,
        [
            RegistryPupil(
                f"T-{uuid.uuid4().hex[:16]}", naam, voornaam, born, insz, (Enrolled(SCHOOL, begin),)
            )
        ],
    )
    assert view.leer_id_uuid is not None and len(view.accounts) == 1, view
    account_uuid = view.accounts[0][0]
    seeding.give_password(engine, account_uuid, username, password)
    engine.dispose()
    return SeededPupil(account_uuid, view.leer_id_uuid, insz, naam, voornaam, username, password)


def store_protocol(database_url: str, path: Path = PROTOCOL_FILE) -> str:
    """Store a protocol file as ``leerid protocol add`` does; returns its id."""
    engine = make_engine(database_url)
    upgrade(engine)
    protocol_id = seeding.store_protocol(engine, path)
    engine.dispose()
    return protocol_id


def seed_idp(database_url: str, **client_options: object) -> Seed:
    """Pupil, protocol and a client (``client_options`` go to ``add_client``)."""
    pupil = seed_pupil(database_url)
    protocol_id = store_protocol(database_url)
    engine = make_engine(database_url)
    client_options.setdefault("redirect_uris", [REDIRECT_URI])
    client_options.setdefault("post_logout_redirect_uris", [LOGOUT_URI])
    client_id, secret = seeding.register_client(
        engine,
        protocol_id=protocol_id,
        **client_options,  # type: ignore[arg-type]
    )
    engine.dispose()
    return Seed(pupil, client_id, secret, protocol_id)


def start_idp(
    database_url: str, *, more_env: dict[str, str] | None = None, workers: int = 1
) -> ServerProcess:
    """``leerid idp serve`` on a free loopback port, caching for 1 s, once it answers."""
    env = {"LEERID_CACHE_SECONDS": "1", **(more_env or {})}  # rotations seen within 1 s
    return start_server(database_url, env=env, workers=workers)


@dataclass
class RunningIdp:
    """A seeded, running identity provider."""

    server: ServerProcess
    seed: Seed
    database_url: str
    extra: list[ServerProcess] = field(default_factory=list)

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


# Art. 5: the seed allows no disclosure without a login, so no refresh tokens. The tests of
# refresh-token mechanics run under a copy of the seed that allows it, with its own id.
OFFLINE_PROTOCOL_ID = "dov-lars-glce-2024-offline-test"


def offline_protocol_file() -> Path:
    """A copy of the seed with ``communication.disclosure_without_login: true``."""
    data = load_protocol(PROTOCOL_FILE).model_dump(mode="json")
    data["id"] = OFFLINE_PROTOCOL_ID
    data["communication"]["disclosure_without_login"] = True
    path = Path(tempfile.mkdtemp(prefix="leerid-offline-")) / "offline-protocol.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def offline_client(database_url: str, **client_options: object) -> tuple[str, str]:
    """A ``client_secret_basic`` client bound to the copy of the seed that allows refresh
    tokens (stored once; storing it again changes nothing): its id and secret."""
    protocol_id = store_protocol(database_url, offline_protocol_file())
    engine = make_engine(database_url)
    client_options.setdefault("name", "LARS (offline test)")
    client_options.setdefault("redirect_uris", [REDIRECT_URI])
    client_options.setdefault("post_logout_redirect_uris", [LOGOUT_URI])
    try:
        return seeding.register_client(
            engine,
            protocol_id=protocol_id,
            **client_options,  # type: ignore[arg-type]
        )
    finally:
        engine.dispose()


def server_sealer(database_url: str) -> Sealer:
    """The provider's ``Sealer``, from the secret it keeps in ``database_url``: what DOV
    itself could seal (a code, a cookie), for tests that need a value only it can make."""
    engine = make_engine(database_url)
    try:
        return Sealer(load_server_secret(engine))
    finally:
        engine.dispose()
