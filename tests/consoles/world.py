"""One world for the consoles' tests: a real provider (DOV's console at ``/beheer``) and a
real LARS portal on loopback, with staff of every role and demo-like data on every page."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from leerid.duties.mail import MailSettings
from leerid.errors import LeeridError
from leerid.idp.store.console.breaches import add_breach as add_dov_breach
from leerid.idp.store.quality_reports import store_report
from leerid.registry.importer import import_registry
from leerid.registry.insz import check_insz
from leerid.registry.models import ImportRun
from leerid.sp.kit.breaches import add_breach
from leerid.sp.kit.staff import add_staff
from leerid.store.engine import make_engine
from leerid.testing.browser import Browser
from leerid.testing.discimus import Enrolled, RegistryPupil, write_discimus
from leerid.testing.seeding import add_console_staff
from tests.conftest import fresh_database
from tests.consoles.pages import APPS, ROLES
from tests.idp_server import SCHOOL, random_insz, seed_pupil
from tests.sp.conftest import add_bound_staff
from tests.sp.lars_world import FAST, Lars, lars_world

PASSWORD = "een-lang-wachtwoord"
LOGIN = {"dov": "/beheer/aanmelden", "lars": "/personeel/aanmelden"}


@dataclass(frozen=True)
class Account:
    app: str
    role: str
    username: str
    password: str = PASSWORD


@dataclass
class World:
    lars: Lars
    accounts: dict[tuple[str, str], Account] = field(default_factory=dict)
    params: dict[str, dict[str, str]] = field(default_factory=dict)
    """Per app: the values of the routes' path parameters (ids of the world's data)."""
    pupil_key: str = ""
    """A pupil whose file LARS staff opened (the DPO's "who looked")."""
    referte: str = ""
    """A pupil of DOV's registry (imported by the world), by its referte."""

    def base(self, app: str) -> str:
        return self.lars.idp.base_url if app == "dov" else self.lars.url

    def url(self, app: str, path: str) -> str:
        return self.base(app) + path

    def account(self, app: str, role: str) -> Account:
        return self.accounts[(app, role)]


def _lars_staff(world: World) -> None:
    """Every role of the LARS protocol (art. 4); one bound by confidentiality and trained
    (art. 6), one in the same role without those dates."""
    provider = world.lars.provider
    names = {
        "toegangscontrole": "toegang.lars",
        "toegangscontrole-zonder-art6": "ongebonden.lars",
        "medewerker": "medewerker.lars",
        "dpo": "dpo.lars",
    }
    add_bound_staff(provider, names["toegangscontrole"], PASSWORD)
    engine, protocol = provider.engine, provider.protocol
    add_staff(engine, protocol, names["toegangscontrole-zonder-art6"], PASSWORD, "toegangscontrole")
    add_staff(engine, protocol, names["medewerker"], PASSWORD, "medewerker")
    add_staff(engine, protocol, names["dpo"], PASSWORD, "dpo")
    for role in ROLES["lars"]:
        world.accounts[("lars", role)] = Account("lars", role, names[role])


def _pupils_log_in(world: World, database_url: str) -> None:
    """Pupils log in at LARS through LeerID: disclosures at DOV, pupils at LARS."""
    idp, provider = world.lars.idp, world.lars.provider
    deadline = time.monotonic() + 30  # art. 11: the version in force arrives by the poller
    while provider.protocol_state().refusal(dt.datetime.now(dt.UTC)) is not None:
        if time.monotonic() > deadline:
            raise LeeridError("LARS never learnt the protocol version in force")
        provider.forget_state()
        time.sleep(0.2)
    second = seed_pupil(database_url, naam="Peeters", voornaam="Zoë")
    for username, password in ((idp.username, idp.password), (second.username, second.password)):
        with Browser() as browser:
            page = browser.lars_login(world.lars.url, username, password)
            if page.status_code != 200 or "/mijn-gegevens" not in str(page.url):
                raise LeeridError(f"the pupil's login at LARS ended at {page.url}")
    world.pupil_key = idp.pupil.leer_id_uuid


def _lars_data(world: World) -> None:
    """A file opened and added to (the privacy log, "who looked"), a breach (art. 9)."""
    provider = world.lars.provider
    key = world.pupil_key
    provider.view_pupil("toegang.lars", "toegangscontrole", key, "vraag van de school")
    provider.add_dossier_entry("toegang.lars", "toegangscontrole", key, "Gesprek")
    number = add_breach(
        provider.engine,
        provider.settings.mail,
        actor="dpo.lars",
        discovered_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=5),
        description="USB-stick verloren",
        categories="naam, school",
        pupils_affected=4,
        measures="Melding bij de politie",
        notify=False,
    )
    world.params["lars"] = {"number": str(number)}


def _dov_staff(world: World) -> None:
    """DOV's console accounts: an operator and a DPO with both art. 6 dates (today), and an
    operator and a DPO without them."""
    engine = make_engine(world.lars.idp.database_url)
    names = {
        "operator": "op.dov",
        "operator-zonder-art6": "nieuw.dov",
        "dpo": "dpo.dov",
        "dpo-zonder-art6": "nieuw-dpo.dov",
    }
    for role, name in names.items():
        kind = "dpo" if role.startswith("dpo") else "operator"
        dated = not role.endswith("-zonder-art6")
        add_console_staff(engine, name, PASSWORD, kind, dated=dated, parameters=FAST)
        world.accounts[("dov", role)] = Account("dov", role, name)
    engine.dispose()


def _dov_data(world: World, folder: Path) -> None:
    """An import with rejected rows and a failed one (art. 6: the rejects download), a
    report from a recipient (art. 7), a breach (art. 9)."""
    idp = world.lars.idp
    engine = make_engine(idp.database_url)
    try:
        insz = random_insz()
        born = check_insz(insz).birth_date or dt.date(2012, 3, 4)
        begin = dt.date.today() - dt.timedelta(days=10)
        referte = f"T-{uuid.uuid4().hex[:16]}"
        good = RegistryPupil(referte, "Claes", "Mira", born, insz, (Enrolled(SCHOOL, begin),))
        bad = dataclasses.replace(good, referte=f"T-{uuid.uuid4().hex[:16]}", insz="12345678901")
        import_registry(engine, write_discimus(folder / "discimus", [good, bad]))
        with contextlib.suppress(LeeridError):
            import_registry(engine, folder / "nergens")  # a failed run
        with Session(engine) as session:
            runs = session.scalars(select(ImportRun.id).where(ImportRun.rejects > 0)).all()
        store_report(
            engine, idp.client_id, idp.pupil.leer_id_uuid, "family_name", "foutief", "Typo"
        )
        number = add_dov_breach(
            engine,
            MailSettings(),
            actor="dpo.dov",
            discovered_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=30),
            description="Verkeerde export naar een ontvanger",
            categories="naam, school",
            pupils_affected=12,
            measures="Export ingetrokken",
            clients=(idp.client_id,),
            notify=False,
        )
    finally:
        engine.dispose()
    world.referte = good.referte
    world.params["dov"] = {"run_id": str(max(runs)), "number": str(number), "rest": "bestaat-niet"}


@contextmanager
def console_world(backend: str, folder: Path) -> Iterator[World]:
    """The world on ``backend`` (the provider and LARS each on a database of their own)."""
    with (
        fresh_database(backend, folder, "idp.db") as database_url,
        fresh_database(backend, folder, "lars.db") as lars_database_url,
        lars_world(database_url, folder, lars_database_url, poll_interval=1) as lars,
    ):
        world = World(lars)
        world.params = {app: {} for app in APPS}
        _lars_staff(world)
        _pupils_log_in(world, database_url)
        _lars_data(world)
        _dov_staff(world)
        _dov_data(world, folder)
        yield world
