"""Art. 4, second indent (need-to-know) and art. 6 (bound before access), through the kit
and through the portal's HTML.

"Enkel personen die omwille van hun functieprofiel deze informatie nodig hebben voor de
uitvoering van hun werk, krijgen toegang tot de informatie." A member of staff sees only the
pupils of the schools in their scope and only the attributes of their function profile.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, text

from leerid.errors import ConfigurationError, LeeridError, NotFoundError
from leerid.sp.kit.models import (
    MIGRATIONS,
    DossierEntry,
    PrivacyLogEntry,
    PupilRecord,
    QualityReport,
)
from leerid.sp.kit.need_to_know import PAGE_SIZE, PupilSearch, UnboundStaffError
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.quality_reports import PROBLEMS, ReportRefusedError, report_wrong_data
from leerid.sp.kit.relying_party import RelyingParty
from leerid.sp.kit.settings import load_settings
from leerid.sp.kit.staff import add_staff
from leerid.store.engine import dispose_engines, make_engine, session_scope
from leerid.store.runner import upgrade
from leerid.testing.browser import hidden_fields
from leerid.testing.protocol_confirmation import confirm_local_protocol
from leerid.testing.servers import free_port, serve_portal
from tests.sp.conftest import BOUND_ON, add_bound_staff, ref_for, write_config
from tests.sp.test_lars_flow import PASSWORD, staff_login

SCHOOLS = ("012345", "023456", "034567", "045678")
NOW = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
PROFILES = """
[profiles.onthaal]
label = "Onthaal"
role = "toegangscontrole"
attributes = ["voornaam", "naam", "instellingsnummer"]

[profiles.trajectbegeleider]
label = "Trajectbegeleider"
role = "toegangscontrole"
attributes = ["voornaam", "naam", "instellingsnummer", "leer_id_uuid"]

[profiles.arts]
label = "Schoolarts"
role = "toegangscontrole"
attributes = ["voornaam", "naam", "instellingsnummer", "leer_id_uuid", "account_uuid"]

[profiles.sleutels]
label = "Sleutelbeheer"
role = "toegangscontrole"
attributes = ["leer_id_uuid"]

[profiles.administratie]
label = "Administratie"
role = "medewerker"
attributes = []
manages_staff = true
"""
SEEING = ("onthaal", "trajectbegeleider", "arts", "sleutels")
CLAIMS = {
    "voornaam": "given_name",
    "naam": "family_name",
    "leer_id_uuid": "ov_leerid_uuid",
    "account_uuid": "ov_account_uuid",
    "instellingsnummer": "ov_orgcode",
}


def profiled_config(folder: Path, database_url: str, **more: object) -> Path:
    return write_config(folder, database_url, schools=SCHOOLS, extra=PROFILES, **more)  # type: ignore[arg-type]


@pytest.fixture
def lars(database_url: str, tmp_path: Path) -> Iterator[ServiceProvider]:
    sp = ServiceProvider(load_settings(profiled_config(tmp_path / "sp", database_url)))
    confirm_local_protocol(sp)
    yield sp
    sp.engine.dispose()
    dispose_engines()


@dataclass(frozen=True)
class Held:
    key: str
    account: str
    given: str
    family: str
    schools: tuple[str, ...]

    def values(self) -> dict[str, str]:
        """Each attribute's value as a page would show it (art. 3 keys)."""
        return {
            "voornaam": self.given,
            "naam": self.family,
            "leer_id_uuid": self.key,
            "account_uuid": self.account,
        }


def hold(
    provider: ServiceProvider,
    schools: tuple[str, ...],
    given: str | None = None,
    family: str | None = None,
    at: dt.datetime = NOW,
) -> Held:
    """A pupil as the provider holds them after a login (art. 3: the last login only)."""
    token = uuid.uuid4().hex
    pupil = Held(
        str(uuid.uuid4()),
        str(uuid.uuid4()),
        given or f"Vn{token[:10]}",
        family or f"Fn{token[10:20]}",
        schools,
    )
    with session_scope(provider.engine) as session:
        session.add(
            PupilRecord(
                pupil_key=pupil.key,
                key_kind="leer_id_uuid",
                account_uuid=pupil.account,
                given_name=pupil.given,
                family_name=pupil.family,
                orgcodes=",".join(schools),
                last_login_at=at,
            )
        )
    return pupil


def report(provider: ServiceProvider, actor: str, pupil_key: str, claim: str) -> str:
    """Art. 7: a member of staff's report through the kit (as the portal sends it)."""
    return asyncio.run(
        report_wrong_data(
            provider,
            RelyingParty(provider.settings),
            actor=actor,
            role="toegangscontrole",
            pupil_key=pupil_key,
            attribute=claim,
            problem="foutief",
            comment="klopt niet",
        )
    )


def log_entries(provider: ServiceProvider, action: str) -> list[PrivacyLogEntry]:
    with session_scope(provider.engine) as session:
        return list(
            session.scalars(
                select(PrivacyLogEntry)
                .where(PrivacyLogEntry.action == action)
                .order_by(PrivacyLogEntry.seq)
            )
        )


def every_page(provider: ServiceProvider, actor: str, query: PupilSearch) -> list[str]:
    """The pupil keys of every page of a search, through the references the kit gives."""
    keys, page = [], 1
    while True:
        found = provider.search_pupils(actor, "toegangscontrole", replace(query, page=page))
        for pupil in found.pupils:
            key = provider.open_ref(actor, pupil.ref)
            assert key is not None
            keys.append(key)
        if not found.has_next:
            return keys
        page += 1


# -- hypothesis: never a pupil outside the scope, never an attribute outside the profile ---


def arrange(
    provider: ServiceProvider, scope: frozenset[str], pupils: list[frozenset[str]], profile: str
) -> tuple[list[Held], str, set[str]]:
    """Only these pupils held; a new member of staff with this scope and profile."""
    with session_scope(provider.engine) as session:
        session.execute(delete(PupilRecord))
    held = [hold(provider, tuple(sorted(schools))) for schools in pupils]
    actor = f"m{uuid.uuid4().hex[:10]}"
    add_bound_staff(provider, actor, PASSWORD, schools=tuple(sorted(scope)), profile=profile)
    allowed = set(provider.settings.profiles[SEEING.index(profile)].attributes)
    return held, actor, allowed


school_sets = st.frozensets(st.sampled_from(SCHOOLS), min_size=1, max_size=3)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    scope=st.frozensets(st.sampled_from(SCHOOLS), max_size=4),
    pupils=st.lists(school_sets, min_size=1, max_size=6),
    profile=st.sampled_from(SEEING),
)
def test_staff_never_see_a_pupil_outside_their_scope_nor_an_attribute_outside_their_profile(
    lars: ServiceProvider,
    scope: frozenset[str],
    pupils: list[frozenset[str]],
    profile: str,
) -> None:
    held, actor, allowed = arrange(lars, scope, pupils, profile)
    inside = {p.key for p in held if scope & set(p.schools)}

    found = lars.search_pupils(actor, "toegangscontrole", PupilSearch())
    assert {lars.open_ref(actor, p.ref) for p in found.pupils} == inside
    for seen in found.pupils:
        assert set(seen.attributes) <= allowed
    for pupil in held:
        if pupil.key in inside:
            view = lars.view_pupil(actor, "toegangscontrole", pupil.key, "controle")
            assert set(view.attributes) <= allowed and view.get("voornaam") in (
                pupil.given,
                None,
            )
        else:
            with pytest.raises(NotFoundError):
                lars.view_pupil(actor, "toegangscontrole", pupil.key, "controle")
    refused = [e for e in log_entries(lars, "toegang_buiten_scope") if e.actor == actor]
    assert {e.pupil_key for e in refused} == {p.key for p in held} - inside


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_portal_html_shows_only_the_scope_and_the_profile(
    database_url: str, tmp_path: Path
) -> None:
    """The same rule, read from the pages a member of staff gets (list and pupil page)."""
    port = free_port()
    config = profiled_config(tmp_path / "sp", database_url, public_url=f"http://127.0.0.1:{port}")
    provider = ServiceProvider(load_settings(config))
    confirm_local_protocol(provider)

    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        scope=st.frozensets(st.sampled_from(SCHOOLS), min_size=1, max_size=2),
        pupils=st.lists(school_sets, min_size=1, max_size=4),
        profile=st.sampled_from(SEEING),
    )
    def check(scope: frozenset[str], pupils: list[frozenset[str]], profile: str) -> None:
        held, actor, allowed = arrange(provider, scope, pupils, profile)
        browser = staff_login(url, actor)
        csrf = hidden_fields(browser.get(f"{url}/personeel").text)["csrf"]
        listing = browser.get(f"{url}/personeel/leerlingen").text
        for pupil in held:
            visible = scope & set(pupil.schools)
            for attribute, value in pupil.values().items():
                shown = bool(visible) and attribute in allowed
                assert (value in listing) == shown, (attribute, profile, visible)
            opened = browser.post(
                f"{url}/personeel/leerlingen/open",
                data={"csrf": csrf, "sleutel": ref_for(provider, actor, pupil.key), "doel": "x"},
            )
            assert opened.status_code == (200 if visible else 404)
            for attribute, value in pupil.values().items():
                assert (value in opened.text) == (bool(visible) and attribute in allowed)
            if visible:  # art. 7 report: only what the person sees, never the INSZ
                offered = set(re.findall(r'<option value="([a-z_]+)"', opened.text))
                assert "rrn" not in offered
                assert offered - set(PROBLEMS) == {CLAIMS[a] for a in allowed}

    with serve_portal(provider, port) as url:
        check()
    provider.engine.dispose()


# -- search ----------------------------------------------------------------------------------


def test_search_by_name_ignores_case_and_accents_and_logs_no_name(lars: ServiceProvider) -> None:
    add_bound_staff(lars, "ina", PASSWORD, schools=SCHOOLS[:2], profile="onthaal")
    celine = hold(lars, SCHOOLS[:1], given="Céline", family="Van den Broeck")
    hold(lars, SCHOOLS[1:2], given="Bram", family="Peeters")
    hold(lars, SCHOOLS[2:3], given="Céline", family="Buiten")  # not a school of ina's

    def names(name: str = "", school: str | None = None) -> list[str]:
        found = lars.search_pupils("ina", "toegangscontrole", PupilSearch(name, school))
        return sorted(f"{p.get('voornaam')} {p.get('naam')}" for p in found.pupils)

    assert names("celine") == names("CÉL") == names("broeck") == ["Céline Van den Broeck"]
    assert names("van den") == names("céline van") == ["Céline Van den Broeck"]
    assert names() == ["Bram Peeters", "Céline Van den Broeck"]
    assert names(school=SCHOOLS[1]) == ["Bram Peeters"]
    assert names(school=SCHOOLS[2]) == []  # a school outside the scope finds nobody
    assert names("zzz") == []
    entry = log_entries(lars, "leerlingen_gezocht")[0]
    detail = json.loads(entry.detail)
    assert detail == {"functie": "Onthaal", "criteria": ["naam"], "pagina": 1, "aantal": 1}
    assert "celine" not in entry.detail.casefold() and celine.key not in entry.detail


def test_search_by_last_login_pages_of_fifty(lars: ServiceProvider) -> None:
    add_bound_staff(lars, "ina", PASSWORD, schools=SCHOOLS[:1], profile="arts")
    for n in range(PAGE_SIZE * 2 + 5):
        hold(lars, SCHOOLS[:1], at=NOW - dt.timedelta(hours=n))
    old = hold(lars, SCHOOLS[:1], at=NOW - dt.timedelta(days=400))
    pages = [lars.search_pupils("ina", "toegangscontrole", PupilSearch(page=n)) for n in (1, 2, 3)]
    assert [len(p.pupils) for p in pages] == [PAGE_SIZE, PAGE_SIZE, 6]
    assert [p.has_next for p in pages] == [True, True, False]
    assert pages[0].pupils[0].last_login_at >= pages[2].pupils[-1].last_login_at
    recent = PupilSearch(login_from=(NOW - dt.timedelta(days=30)).date(), login_to=NOW.date())
    found = lars.search_pupils("ina", "toegangscontrole", recent)
    assert len(found.pupils) == PAGE_SIZE and found.has_next
    assert old.key not in every_page(lars, "ina", recent)
    long_ago = PupilSearch(login_to=(NOW - dt.timedelta(days=300)).date())
    (only,) = lars.search_pupils("ina", "toegangscontrole", long_ago).pupils
    assert lars.open_ref("ina", only.ref) == old.key
    assert lars.open_ref("someone.else", only.ref) is None  # a reference is for one person
    counts = [json.loads(e.detail)["aantal"] for e in log_entries(lars, "leerlingen_gezocht")]
    assert counts[:3] == [PAGE_SIZE, PAGE_SIZE, 6]


def test_a_profile_without_names_cannot_search_by_name(lars: ServiceProvider) -> None:
    add_bound_staff(lars, "kim", PASSWORD, profile="sleutels")
    hold(lars, SCHOOLS[:1], given="Lotte")
    with pytest.raises(LeeridError, match="both names"):
        lars.search_pupils("kim", "toegangscontrole", PupilSearch("lotte"))
    with pytest.raises(LeeridError, match="no school"):  # else a key's school would show
        lars.search_pupils("kim", "toegangscontrole", PupilSearch(school=SCHOOLS[0]))
    assert log_entries(lars, "leerlingen_gezocht") == []


# -- the privacy log and the scope of every act ------------------------------------------------


def test_views_carry_the_function_and_acts_outside_the_scope_are_refused_and_logged(
    lars: ServiceProvider,
) -> None:
    add_bound_staff(lars, "arts.een", PASSWORD, schools=SCHOOLS[:1], profile="arts")
    mine, other = hold(lars, SCHOOLS[:1]), hold(lars, SCHOOLS[1:2])
    lars.view_pupil("arts.een", "toegangscontrole", mine.key, "consult")
    (viewed,) = log_entries(lars, "leerling_bekeken")
    assert json.loads(viewed.detail) == {"functie": "Schoolarts"}
    with pytest.raises(NotFoundError):
        lars.add_dossier_entry("arts.een", "toegangscontrole", other.key, "notitie")
    with pytest.raises(NotFoundError):  # the kit's own report, not only the portal's page
        report(lars, "arts.een", other.key, "family_name")
    nobody = str(uuid.uuid4())
    with pytest.raises(NotFoundError):  # the same answer for a key that does not exist
        lars.view_pupil("arts.een", "toegangscontrole", nobody, "consult")
    refused = log_entries(lars, "toegang_buiten_scope")
    assert [(e.pupil_key, json.loads(e.detail)["functie"]) for e in refused] == [
        (other.key, "Schoolarts"),
        (other.key, "Schoolarts"),
    ]
    add_bound_staff(lars, "onthaal.een", PASSWORD, schools=SCHOOLS[:1], profile="onthaal")
    with pytest.raises(ReportRefusedError, match="enkel die gegevens zie je"):
        report(lars, "onthaal.een", mine.key, "ov_leerid_uuid")  # a key onthaal does not see
    with session_scope(lars.engine) as session:
        assert session.scalars(select(DossierEntry)).all() == []
        assert session.scalars(select(QualityReport)).all() == []


# -- art. 6: bound before access ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("signed", "trained", "missing"),
    [
        (None, None, ("vertrouwelijkheid", "sensibilisering")),
        (BOUND_ON, None, ("sensibilisering",)),
        (None, BOUND_ON, ("vertrouwelijkheid",)),
        (BOUND_ON, dt.date.today() + dt.timedelta(days=3), ("sensibilisering",)),
    ],
)
def test_no_pupil_data_before_the_pledge_and_the_training(
    lars: ServiceProvider,
    signed: dt.date | None,
    trained: dt.date | None,
    missing: tuple[str, ...],
) -> None:
    add_staff(
        lars.engine,
        lars.protocol,
        "nieuw",
        PASSWORD,
        "toegangscontrole",
        confidentiality_signed_on=signed,
        awareness_trained_on=trained,
        schools=SCHOOLS,
    )
    pupil = hold(lars, SCHOOLS[:1])
    acts = (
        lambda: lars.search_pupils("nieuw", "toegangscontrole", PupilSearch()),
        lambda: lars.view_pupil("nieuw", "toegangscontrole", pupil.key, "vraag"),
        lambda: lars.add_dossier_entry("nieuw", "toegangscontrole", pupil.key, "notitie"),
        lambda: lars.check_access("nieuw", "toegangscontrole", pupil.key, "melding"),
    )
    for act in acts:
        with pytest.raises(UnboundStaffError) as refused:
            act()
        assert refused.value.missing == missing
    with pytest.raises(PermissionError):  # a name that is no account sees nothing either
        lars.search_pupils("niemand", "toegangscontrole", PupilSearch())


# -- the configuration: errors at start with file, line and field --------------------------


BAD_PROFILES = {
    "role": ('role = "toegangscontrole"', 'role = "directeur"', "'directeur' is not a recipient"),
    "insz": (
        'attributes = ["voornaam", "naam", "instellingsnummer", "leer_id_uuid", "account_uuid"]',
        'attributes = ["voornaam", "insz"]',
        "'insz' is not an attribute the protocol discloses to you (art. 3); use one of",
    ),
    "key": ('label = "Schoolarts"', 'label = "Schoolarts"\nkleur = "rood"', "unknown key 'kleur'"),
    "type": (
        'attributes = ["voornaam", "naam", "instellingsnummer", "leer_id_uuid", "account_uuid"]',
        'attributes = "naam"',
        "must be a list, not 'naam'",
    ),
}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("case", sorted(BAD_PROFILES))
def test_a_bad_profile_is_refused_at_start_with_file_line_and_field(
    database_url: str, tmp_path: Path, case: str
) -> None:
    good, bad, message = BAD_PROFILES[case]
    arts = PROFILES.index("[profiles.arts]")
    text = PROFILES[:arts] + PROFILES[arts:].replace(good, bad, 1)
    path = write_config(tmp_path / "sp", database_url, schools=SCHOOLS, extra=text)
    lines = path.read_text(encoding="utf-8").splitlines()
    field = bad.split("\n")[-1].split(" =")[0]
    line = next(
        n
        for n, t in enumerate(lines, 1)
        if t.startswith(f"{field} =") and n > lines.index("[profiles.arts]")
    )
    with pytest.raises(ConfigurationError) as refused:
        ServiceProvider(load_settings(path))
    assert refused.value.message.startswith(f"lars.toml:{line}: [profiles.arts] {field}: ")
    assert message in refused.value.message
    dispose_engines()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_role_without_pupil_data_gets_no_attributes(database_url: str, tmp_path: Path) -> None:
    text = PROFILES.replace(
        'role = "medewerker"\nattributes = []', 'role = "medewerker"\nattributes = ["naam"]'
    )
    path = write_config(tmp_path / "sp", database_url, schools=SCHOOLS, extra=text)
    with pytest.raises(ConfigurationError, match=r"\[profiles.administratie\] attributes: "):
        ServiceProvider(load_settings(path))
    dispose_engines()


def test_the_example_configuration_has_the_four_profiles() -> None:
    root = Path(__file__).resolve().parents[2]
    profiles = load_settings(root / "examples" / "lars.toml").profiles
    assert [p.id for p in profiles] == ["onthaal", "trajectbegeleider", "arts", "administratie"]
    assert [p.id for p in profiles if p.manages_staff] == ["administratie"]


def test_the_migration_folds_the_names_of_existing_records(database_url: str) -> None:
    """0009: records stored before the search column get their folded names, so the search
    finds them as it finds new ones."""
    engine = make_engine(database_url)
    upgrade(engine, "0008_sp_dossier_retention", migrations=MIGRATIONS)
    with engine.begin() as conn:
        for key, given, family in (("a", "Céline", "Ó Súilleabháin"), ("b", None, None)):
            conn.execute(
                text(
                    "INSERT INTO sp_pupil (pupil_key, key_kind, account_uuid, given_name, "
                    "family_name, orgcodes, last_login_at) "
                    "VALUES (:k, 'leer_id_uuid', :k, :g, :f, '012345', :at)"
                ),
                {"k": key, "g": given, "f": family, "at": NOW},
            )
    upgrade(engine, "heads", migrations=MIGRATIONS)
    with engine.begin() as conn:
        folded = dict(conn.execute(text("SELECT pupil_key, search_name FROM sp_pupil")).all())
    assert folded == {"a": "celine o suilleabhain", "b": None}
    engine.dispose()
