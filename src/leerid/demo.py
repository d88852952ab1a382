"""``leerid demo``: the whole system on one machine, from DISCIMUS files to the LARS portal.

The demo works in a folder of its own (``$LEERID_HOME/demo``, emptied at each run; it holds
only synthetic data) and:

1. generates a synthetic DISCIMUS registry and imports it (issue 2);
2. stores the seed protocol and registers LARS as a ``private_key_jwt`` client of the
   identity provider, bound to that protocol (issues 3 and 4);
3. gives three demo pupils a username and password: one enrolled in a partner school of
   LARS (admitted), one enrolled elsewhere (refused at the enrolment gate, preamble D and
   art. 3), and one DISCIMUS has no INSZ for (a temporary account);
4. starts the identity provider and the LARS portal as real servers, logs the pupils in the
   way a browser without JavaScript would, identifies the third pupil with a second
   DISCIMUS import and logs it in again, so that LARS links its records (art. 3);
5. leaves both servers running for a person to explore, until Ctrl-C.

Every step is checked: a demo that does not behave as the protocol says stops with an
error instead of printing a happy summary.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from leerid.errors import LeeridError
from leerid.idp.login.passwords import PasswordHasher
from leerid.idp.settings import default_tlog_origin
from leerid.idp.store.tlog.checkpoints import log_signer
from leerid.idp.store.tlog.witnesses import add_witness
from leerid.registry.importer import ImportSummary, import_registry
from leerid.registry.insz import insz_check_digits
from leerid.registry.lookup import PupilView, active_on, find_pupil
from leerid.registry.models import Enrolment, Pupil, Registration
from leerid.schema import get_engine
from leerid.sp.kit.log_witness import witness_vkey
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.settings import load_settings
from leerid.sp.kit.setup import StaffSeed, add_staff_accounts, write_client_key, write_config
from leerid.store.engine import dispose_engines
from leerid.testing.browser import Browser
from leerid.testing.discimus import Enrolled, RegistryPupil, write_discimus
from leerid.testing.seeding import (
    add_console_staff,
    give_password,
    register_client,
    seed_registry,
    store_protocol,
)
from leerid.testing.servers import start_idp, start_portal

Say = Callable[[str], None]


@dataclass(frozen=True)
class DemoPupil:
    """A demo pupil with credentials and what LARS should do with it."""

    role: str
    username: str
    password: str
    account_uuid: str
    expected: str


@dataclass(frozen=True)
class DemoWorld:
    """What the demo set up: where things are and who can log in."""

    home: Path
    database_url: str
    issuer: str
    lars_url: str
    lars_config: Path
    partner_school: str
    pupils: tuple[DemoPupil, ...]
    staff: tuple[StaffSeed, ...]
    import_summary: ImportSummary
    examples: tuple[PupilView, ...]
    dov_staff: tuple[tuple[str, str, str], ...] = ()  # DOV's console: username, password, role

    @property
    def console_url(self) -> str:
        """DOV's console (issue 13), at the provider's root."""
        return f"{self.issuer.removesuffix('/op')}/beheer"


DOV_STAFF = (
    ("operator.dov", "Operator-Demo-2024-DOV", "operator"),
    ("dpo.dov", "Dpo-Demo-2024-DOV", "dpo"),
)
"""DOV's console accounts (issue 13), with both art. 6 dates recorded as today."""

STAFF = (
    StaffSeed("toegang.lars", "toegangscontrole", "Toegang-Demo-2024", dt.date(2024, 3, 1)),
    StaffSeed("medewerker.lars", "medewerker", "Medewerker-Demo-2024"),
    StaffSeed("dpo.lars", "dpo", "Dpo-Demo-2024-LARS"),
)


def _demo_insz(born: dt.date, taken: set[str], rng: random.Random) -> str:
    """A valid national register number for ``born`` that nobody in the registry has."""
    while True:
        nine = f"{born.year % 100:02d}{born.month:02d}{born.day:02d}{rng.randrange(1, 998):03d}"
        number = nine + insz_check_digits(nine, born.year >= 2000)
        if number not in taken:
            return number


def _pick_pupils(session: Session, today: dt.date) -> tuple[str, PupilView, PupilView, PupilView]:
    """A partner school, and an admitted, a refused and an unidentified pupil (art. 3)."""
    rows = session.execute(
        select(Pupil.id, Pupil.leer_id_uuid, Enrolment.instellingsnummer)
        .join(Registration, Registration.pupil_id == Pupil.id)
        .join(Enrolment, Enrolment.referte == Registration.referte)
        .where(*active_on(today))
        .order_by(Pupil.id)
    ).all()
    schools: dict[int, set[str]] = {}
    identified: dict[int, bool] = {}
    for pupil_id, leer_id_uuid, school in rows:
        schools.setdefault(pupil_id, set()).add(school)
        identified[pupil_id] = leer_id_uuid is not None
    unidentified = [p for p, known in identified.items() if not known]
    if not unidentified:
        raise LeeridError("the demo registry has no unidentified pupil; use more pupils")
    third = unidentified[0]
    partner = sorted(schools[third])[0]
    admitted = next(p for p, known in identified.items() if known and partner in schools[p])
    refused = next(p for p, known in identified.items() if known and partner not in schools[p])

    def view(pupil_id: int) -> PupilView:
        found = find_pupil(session, on=today, referte=_a_referte(session, pupil_id))
        assert found is not None
        return found

    return partner, view(admitted), view(refused), view(third)


def _a_referte(session: Session, pupil_id: int) -> str:
    referte = session.scalar(
        select(Registration.referte).where(Registration.pupil_id == pupil_id).limit(1)
    )
    if referte is None:
        raise LeeridError(f"pupil {pupil_id} has no registration")
    return referte


def _login_account(view: PupilView) -> str:
    """The account a pupil logs in with: permanent, else temporary (art. 3)."""
    for wanted in ("permanent", "temporary"):
        for account_uuid, status in view.accounts:
            if status == wanted:
                return account_uuid
    raise LeeridError(f"pupil {view.pupil_id} has no account to log in with")


def _give_credentials(
    engine: Engine, pupils: list[tuple[str, str, str, PupilView, str]]
) -> tuple[DemoPupil, ...]:
    """A username and an activation code from the school, activated with the password."""
    hasher = PasswordHasher.from_env()  # the cost the provider will verify with
    hasher.close()
    out: list[DemoPupil] = []
    for role, username, password, view, expected in pupils:
        account_uuid = _login_account(view)
        give_password(engine, account_uuid, username, password, hasher.parameters)
        out.append(DemoPupil(role, username, password, account_uuid, expected))
    return tuple(out)


def _write_identification(session: Session, view: PupilView, folder: Path, insz: str) -> None:
    """DISCIMUS files in which the unidentified pupil's registration now carries an INSZ."""
    referte = view.referten[0]
    reg = session.get(Registration, referte)
    assert reg is not None
    enrolments = session.scalars(select(Enrolment).where(Enrolment.referte == referte)).all()
    enrolled = tuple(
        Enrolled(e.instellingsnummer, e.begindatum, e.administratieve_groep, e.einddatum)
        for e in enrolments
    )
    pupil = RegistryPupil(referte, reg.naam, reg.voornaam, reg.geboortedatum, insz, enrolled)
    write_discimus(folder, [pupil])


@contextmanager
def _servers(world: DemoWorld, idp_port: int, sp_port: int) -> Iterator[None]:
    """Both servers as subprocesses, their output on this terminal; stopped at the end."""
    with ExitStack() as stack:
        idp = start_idp(world.database_url, env=server_env(world), port=idp_port, log=False)
        stack.callback(idp.stop)
        portal = start_portal(world.lars_config, env=server_env(world), port=sp_port, log=False)
        stack.callback(portal.stop)
        yield


def _register_lars(
    engine: Engine, home: Path, protocol_file: Path, ports: tuple[int, int], partner: str
) -> tuple[str, str, Path]:
    """Step 2: the protocol, LARS as a private_key_jwt client, LARS's configuration and staff."""
    protocol_id = store_protocol(engine, protocol_file)
    issuer = f"http://127.0.0.1:{ports[0]}/op"
    lars_url = f"http://127.0.0.1:{ports[1]}"
    lars_dir = home / "lars"
    lars_dir.mkdir()
    jwks = json.loads(write_client_key(lars_dir).read_text(encoding="utf-8"))
    client_id, _ = register_client(
        engine,
        name="LARS via de app GLCE (demo)",  # the seed's title: LARS "via de app van GLCE"
        protocol_id=protocol_id,
        redirect_uris=[f"{lars_url}/callback"],
        post_logout_redirect_uris=[f"{lars_url}/"],
        auth_method="private_key_jwt",
        jwks=jwks,
    )
    lars_config = write_config(
        lars_dir,
        issuer=issuer,
        client_id=client_id,
        protocol_file=protocol_file,
        partner_schools=[partner],
        port=ports[1],
        database_url=f"sqlite:///{home / 'lars.db'}",
    )
    add_staff_accounts(lars_config, list(STAFF))
    _witness_log(engine, issuer, lars_config, client_id)
    return issuer, lars_url, lars_config


def _witness_log(engine: Engine, issuer: str, lars_config: Path, client_id: str) -> None:
    """Issue 12 §3: LARS pins DOV's log key and DOV registers LARS as a witness of its log."""
    dov_key = log_signer(engine, default_tlog_origin(issuer)).vkey
    with lars_config.open("a", encoding="utf-8") as config:
        config.write(f'\n[log]\nvkey = "{dov_key}"\nwitness_name = "lars.demo/witness"\n')
        config.write("interval = 10\n")  # a round every ten seconds, to watch it happen
    provider = ServiceProvider(load_settings(lars_config))
    add_witness(engine, None, client_id, witness_vkey(provider))
    provider.engine.dispose()


def prepare(
    home: Path, pupils: int, protocol_file: Path, idp_port: int, sp_port: int, say: Say
) -> DemoWorld:
    """Steps 1-3: registry, protocol, client, demo pupils and staff, in ``home``."""
    if not protocol_file.is_file():
        raise LeeridError(
            f"{protocol_file}: protocol file not found; run the demo from the project folder "
            "or give --protocol FILE"
        )
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    database_url = f"sqlite:///{home / 'leerid.db'}"
    engine = get_engine(database_url)

    say(f"1. DISCIMUS: {pupils} synthetic pupils")
    summary = seed_registry(engine, home / "discimus", pupils, seed=2024, unidentified_share=0.03)
    with Session(engine) as session:
        partner, admitted, refused, unidentified = _pick_pupils(session, dt.date.today())

    say("2. Protocol and client")
    issuer, lars_url, lars_config = _register_lars(
        engine, home, protocol_file, (idp_port, sp_port), partner
    )

    say("3. Demo pupils")
    demo_pupils = _give_credentials(
        engine,
        [
            ("admitted", "leerling.partner", "Zonnebloem-Partner-24", admitted, "toegelaten"),
            ("refused", "leerling.andere", "Zonnebloem-Andere-24", refused, "geweigerd"),
            ("merge", "leerling.nieuw", "Zonnebloem-Nieuw-24", unidentified, "gekoppeld"),
        ],
    )
    for username, password, role in DOV_STAFF:
        add_console_staff(engine, username, password, role)
    return DemoWorld(
        home=home,
        database_url=database_url,
        issuer=issuer,
        lars_url=lars_url,
        lars_config=lars_config,
        partner_school=partner,
        pupils=demo_pupils,
        staff=STAFF,
        import_summary=summary,
        examples=(admitted, refused, unidentified),
        dov_staff=DOV_STAFF,
    )


def _outcome(page: httpx.Response) -> str:
    if page.status_code == 403 and "Geen toegang" in page.text:
        return "geweigerd"
    if page.status_code == 200 and "gekoppeld=1" in str(page.url):
        return "gekoppeld"
    if page.status_code == 200 and page.url.path == "/mijn-gegevens":
        return "toegelaten"
    return f"HTTP {page.status_code} at {page.url.path}"


def play(world: DemoWorld, say: Say) -> list[tuple[DemoPupil, str, str]]:
    """Step 4: the scripted logins against the running servers; returns (pupil, step, outcome)."""
    results: list[tuple[DemoPupil, str, str]] = []
    admitted, refused, merge = world.pupils
    for pupil in (admitted, refused, merge):
        with Browser() as browser:
            outcome = _outcome(browser.lars_login(world.lars_url, pupil.username, pupil.password))
        results.append((pupil, "first login", outcome))

    say("4. DISCIMUS identifies the pupil without INSZ (second import)")
    engine = get_engine(world.database_url)
    with Session(engine) as session:
        view = find_pupil(session, on=dt.date.today(), account_uuid=merge.account_uuid)
        assert view is not None
        taken = {n for n in session.scalars(select(Pupil.insz)) if n is not None}
        insz = _demo_insz(_birth_date(session, view), taken, random.Random(7))  # noqa: S311
        _write_identification(session, view, world.home / "discimus-2", insz)
    import_registry(engine, world.home / "discimus-2")
    with Browser() as browser:
        page = browser.lars_login(world.lars_url, merge.username, merge.password)
    results.append((merge, "after identification", _outcome(page)))
    return results


def _birth_date(session: Session, view: PupilView) -> dt.date:
    reg = session.get(Registration, view.referten[0])
    assert reg is not None
    return reg.geboortedatum


def check(results: list[tuple[DemoPupil, str, str]]) -> None:
    """The protocol's expectations: partner admitted, other school refused, merge linked."""
    expected = {
        ("admitted", "first login"): "toegelaten",
        ("refused", "first login"): "geweigerd",
        ("merge", "first login"): "toegelaten",
        ("merge", "after identification"): "gekoppeld",
    }
    for pupil, step, outcome in results:
        want = expected[(pupil.role, step)]
        if outcome != want:
            raise LeeridError(
                f"demo pupil {pupil.username} ({step}): LARS answered {outcome!r}, "
                f"expected {want!r}"
            )


def server_env(world: DemoWorld) -> dict[str, str]:
    """What both servers' environment adds to this process's."""
    return {
        "LEERID_HOME": str(world.home),
        "LEERID_DATABASE_URL": world.database_url,
        "LEERID_ISSUER": world.issuer,
    }


def run(
    world: DemoWorld,
    idp_port: int,
    sp_port: int,
    serve: bool,
    say: Say,
    ready: Callable[[list[tuple[DemoPupil, str, str]]], None],
) -> None:
    """Steps 4-5: start the servers, play and check the logins, then keep serving (or stop)."""
    dispose_engines()
    with _servers(world, idp_port, sp_port):
        results = play(world, say)
        check(results)
        ready(results)
        if serve:
            signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the servers too
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                say("stopping the servers")


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt
