"""A real identity provider and a real LARS portal on loopback, and a pupil's browser."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from leerid.registry.models import Account, Credential, Pupil, Registration
from leerid.sp.kit.keys import generate_client_key
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.settings import load_settings
from leerid.sp.portal.app import create_portal
from leerid.store.engine import make_engine
from tests.idp_server import RunningIdp, SeededPupil, _free_port, running_idp, seed_pupil
from tests.sp.conftest import write_config

FAST_HASH = {"LEERID_ARGON2_MEMORY_KIB": "1024", "LEERID_ARGON2_TIME_COST": "1"}
_HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">')


@dataclass
class Lars:
    idp: RunningIdp
    provider: ServiceProvider
    url: str
    config: Path


@contextmanager
def serve_portal(provider: ServiceProvider, port: int) -> Iterator[str]:
    """The portal under uvicorn in a thread, on ``port``."""
    server = uvicorn.Server(
        uvicorn.Config(
            create_portal(provider),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the portal did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def lars_world(
    database_url: str, tmp_path: Path, lars_database_url: str = "", **config: object
) -> Iterator[Lars]:
    """IdP (private_key_jwt client registered for the portal) + portal on its own database
    (``lars_database_url``, default a SQLite file in ``tmp_path``)."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    keys = tmp_path / "keys"
    generate_client_key(keys / "client-key.jwk", keys / "client-jwks.json")
    jwks = json.loads((keys / "client-jwks.json").read_text())
    with running_idp(
        database_url,
        more_env=FAST_HASH,
        redirect_uris=[f"{url}/callback"],
        post_logout_redirect_uris=[f"{url}/"],
        auth_method="private_key_jwt",
        jwks=jwks,
    ) as idp:
        path = write_config(
            tmp_path / "lars",
            lars_database_url or f"sqlite:///{tmp_path / 'lars.db'}",
            issuer=idp.issuer,
            client_id=idp.client_id,
            redirect_uri=f"{url}/callback",
            public_url=url,
            auth=f'auth_method = "private_key_jwt"\nprivate_key_file = "{keys / "client-key.jwk"}"',
            **config,  # type: ignore[arg-type]
        )
        provider = ServiceProvider(load_settings(path))
        with serve_portal(provider, port):
            yield Lars(idp, provider, url, path)
        provider.engine.dispose()


def hidden(html: str) -> dict[str, str]:
    return dict(_HIDDEN.findall(html))


class PupilBrowser:
    """A browser without JavaScript: follows redirects by hand, keeps cookies."""

    def __init__(self) -> None:
        self.http = httpx.Client(follow_redirects=False, timeout=30)

    def follow(self, response: httpx.Response) -> httpx.Response:
        while response.status_code in (302, 303):
            response = self.http.get(
                httpx.URL(str(response.url)).join(response.headers["location"])
            )
        return response

    def idp_login(self, page: httpx.Response, username: str, password: str) -> httpx.Response:
        """Fill in LeerID's login form; returns the redirect back to the provider."""
        assert page.status_code == 200, page.text
        action = str(
            page.url.copy_with(path=page.url.path.replace("/v1/auth", "/v1/login"), query=None)
        )
        fields = {k: v for k, v in hidden(page.text).items() if k in ("request", "csrf_token")}
        done = self.http.post(action, data={**fields, "username": username, "password": password})
        assert done.status_code == 303, done.text
        return done

    def lars_login(self, lars: Lars, username: str, password: str) -> httpx.Response:
        start = self.http.get(f"{lars.url}/aanmelden")
        assert start.status_code == 303
        page = self.follow(start)
        back = self.idp_login(page, username, password)
        return self.follow(back)


def move_to_school(database_url: str, pupil: SeededPupil, school: str) -> None:
    from leerid.registry.models import Enrolment

    engine = make_engine(database_url)
    with Session(engine) as session, session.begin():
        account = session.get(Account, pupil.account_uuid)
        assert account is not None
        referten = session.scalars(
            select(Registration.referte).where(Registration.pupil_id == account.pupil_id)
        ).all()
        session.execute(
            update(Enrolment)
            .where(Enrolment.referte.in_(referten))
            .values(instellingsnummer=school)
        )
    engine.dispose()


def make_unidentified(database_url: str, pupil: SeededPupil) -> None:
    """The seeded pupil as one DISCIMUS has no INSZ for: a temporary account only."""
    engine = make_engine(database_url)
    with Session(engine) as session, session.begin():
        account = session.get(Account, pupil.account_uuid)
        assert account is not None
        session.execute(
            update(Pupil).where(Pupil.id == account.pupil_id).values(leer_id_uuid=None, insz=None)
        )
        session.execute(
            update(Registration).where(Registration.pupil_id == account.pupil_id).values(insz=None)
        )
        account.status = "temporary"
    engine.dispose()


def identify(database_url: str, pupil: SeededPupil, insz: str) -> tuple[str, str, str]:
    """The pupil gets an INSZ: a Leer_id_uuid, the temporary account retired, a new
    permanent account with its own credential. Returns (leer_id_uuid, account, username)."""
    import datetime as dt

    from argon2 import PasswordHasher

    engine = make_engine(database_url)
    leer_id, new_account, username = (
        str(uuid.uuid4()),
        str(uuid.uuid4()),
        f"id.{uuid.uuid4().hex[:8]}",
    )
    with Session(engine) as session, session.begin():
        old = session.get(Account, pupil.account_uuid)
        assert old is not None
        session.execute(
            update(Pupil).where(Pupil.id == old.pupil_id).values(leer_id_uuid=leer_id, insz=insz)
        )
        old.status = "retired"
        old.retired_at = dt.datetime.now(dt.UTC)
        session.add(
            Account(
                account_uuid=new_account,
                pupil_id=old.pupil_id,
                status="permanent",
                referte=old.referte,
            )
        )
        session.flush()
        session.add(
            Credential(
                account_uuid=new_account,
                username=username,
                password_hash=PasswordHasher(memory_cost=1024, time_cost=1, parallelism=1).hash(
                    pupil.password
                ),
            )
        )
    engine.dispose()
    return leer_id, new_account, username


__all__ = [
    "Lars",
    "PupilBrowser",
    "identify",
    "lars_world",
    "make_unidentified",
    "move_to_school",
    "seed_pupil",
]
