"""A real identity provider and a real LARS portal on loopback, and what changes a pupil."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from leerid.idp.login.passwords import Argon2Parameters
from leerid.registry.models import Account, Enrolment, Pupil, Registration
from leerid.sp.kit.keys import generate_client_key
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.settings import load_settings
from leerid.store.engine import make_engine
from leerid.testing.seeding import give_password
from leerid.testing.servers import free_port, serve_portal
from tests.idp_server import RunningIdp, SeededPupil, running_idp, seed_pupil
from tests.sp.conftest import write_config

FAST_HASH = {"LEERID_ARGON2_MEMORY_KIB": "1024", "LEERID_ARGON2_TIME_COST": "1"}
FAST = Argon2Parameters(memory_kib=1024, time_cost=1, parallelism=1)


@dataclass
class Lars:
    idp: RunningIdp
    provider: ServiceProvider
    url: str
    config: Path


@contextmanager
def provider_for_portal(
    database_url: str,
    folder: Path,
    portal_url: str,
    lars_database_url: str,
    *,
    idp_env: dict[str, str] | None = None,
    **config: object,
) -> Iterator[tuple[RunningIdp, Path]]:
    """A running provider (with ``idp_env`` in its environment) with a private_key_jwt client
    for the portal at ``portal_url``, and the portal's configuration (in ``folder / "lars"``,
    on ``lars_database_url``)."""
    keys = folder / "keys"
    generate_client_key(keys / "client-key.jwk", keys / "client-jwks.json")
    jwks = json.loads((keys / "client-jwks.json").read_text())
    with running_idp(
        database_url,
        more_env={**FAST_HASH, **(idp_env or {})},
        redirect_uris=[f"{portal_url}/callback"],
        post_logout_redirect_uris=[f"{portal_url}/"],
        auth_method="private_key_jwt",
        jwks=jwks,
    ) as idp:
        path = write_config(
            folder / "lars",
            lars_database_url,
            issuer=idp.issuer,
            client_id=idp.client_id,
            redirect_uri=f"{portal_url}/callback",
            public_url=portal_url,
            auth=f'auth_method = "private_key_jwt"\nprivate_key_file = "{keys / "client-key.jwk"}"',
            **config,  # type: ignore[arg-type]
        )
        yield idp, path


@contextmanager
def lars_world(
    database_url: str,
    tmp_path: Path,
    lars_database_url: str = "",
    *,
    idp_env: dict[str, str] | None = None,
    **config: object,
) -> Iterator[Lars]:
    """IdP (private_key_jwt client registered for the portal, ``idp_env`` in its environment)
    + portal on its own database (``lars_database_url``, default a SQLite file in
    ``tmp_path``)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    lars_database_url = lars_database_url or f"sqlite:///{tmp_path / 'lars.db'}"
    with provider_for_portal(
        database_url, tmp_path, url, lars_database_url, idp_env=idp_env, **config
    ) as (
        idp,
        path,
    ):
        provider = ServiceProvider(load_settings(path))
        with serve_portal(provider, port):
            yield Lars(idp, provider, url, path)
        provider.engine.dispose()


def move_to_school(database_url: str, pupil: SeededPupil, school: str) -> None:
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
    permanent account with its own credential (through an activation code). Returns
    (leer_id_uuid, account, username)."""
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
    give_password(engine, new_account, username, pupil.password, FAST)
    engine.dispose()
    return leer_id, new_account, username


__all__ = [
    "Lars",
    "identify",
    "lars_world",
    "make_unidentified",
    "move_to_school",
    "provider_for_portal",
    "seed_pupil",
]
