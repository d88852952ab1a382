"""A pupil who logged in through two services: first with a temporary account (before the
registry knew their INSZ), then, identified, with their permanent account. Both through the
real importer and real logins, so the disclosure log is as production writes it."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from leerid.store.engine import make_engine
from leerid.testing import seeding
from leerid.testing.discimus import Enrolled, RegistryPupil, import_pupils
from tests.idp_server import REDIRECT_URI, SCHOOL, RunningIdp, running_idp
from tests.registry_seed import valid_insz
from tests.reports.helpers import log_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

PASSWORD = "groene kikker springt ver"
BORN = dt.date(2013, 4, 2)


@dataclass
class PupilWorld:
    idp: RunningIdp
    other_id: str  # "Rekenplatform": received the pupil's data as an identified pupil
    never_id: str  # "Taalplatform": received nothing
    username: str  # the permanent account's
    temporary_account: str
    permanent_account: str
    leer_id_uuid: str


@contextmanager
def pupil_world(database_url: str, more_env: dict[str, str] | None = None) -> Iterator[PupilWorld]:
    """The world above; ``more_env`` goes to the provider (e.g. its log's interval)."""
    env = {"LEERID_ARGON2_MEMORY_KIB": "1024", **(more_env or {})}
    with running_idp(database_url, more_env=env) as idp:
        engine = make_engine(database_url)
        clients = [
            seeding.register_client(
                engine, protocol_id=idp.seed.protocol_id, redirect_uris=[REDIRECT_URI], name=name
            )
            for name in ("Rekenplatform", "Taalplatform")
        ]
        pupil = RegistryPupil(
            f"MG-{uuid.uuid4().hex[:12]}",
            "Peeters",
            "Emma",
            BORN,
            None,
            (Enrolled(SCHOOL, dt.date.today() - dt.timedelta(days=40)),),
        )
        (temporary_view,) = import_pupils(engine, [pupil])
        ((temporary, _),) = temporary_view.accounts
        suffix = uuid.uuid4().hex[:6]
        username = f"emma.{suffix}"
        seeding.give_password(engine, temporary, username, PASSWORD)
        log_in(idp.issuer, idp.client_id, idp.client_secret, username, PASSWORD)
        # identified: the temporary account is retired, the username moves to the new one
        (view,) = import_pupils(engine, [replace(pupil, insz=valid_insz(BORN))])
        (permanent,) = [a for a, status in view.accounts if status == "permanent"]
        (other_id, other_secret), (never_id, _) = clients
        log_in(idp.issuer, other_id, other_secret, username, PASSWORD)
        engine.dispose()
        assert view.leer_id_uuid is not None
        yield PupilWorld(idp, other_id, never_id, username, temporary, permanent, view.leer_id_uuid)


def sign_in_on_page(page: Page, world: PupilWorld) -> None:
    """In a browser showing the LeerID login form of the pupil's page: the pupil logs in and
    lands on "Mijn gegevens"."""
    page.get_by_label("Gebruikersnaam").fill(world.username)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Aanmelden").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Mijn gegevens"
