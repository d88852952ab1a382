"""Staff management (issue 11 point 7) and the art. 6 gate, on the web and the command line.

Art. 6: "Elke Partij zal erop toezien dat personeelsleden of aangestelde personen enkel
toegang verkrijgen tot persoonsgegevens nadat ze behoorlijk gebonden zijn door een wettelijke
of contractuele vertrouwelijkheidsverplichting." Art. 4: the function profile and the schools.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from leerid.cli.main import app
from leerid.errors import LeeridError
from leerid.sp.kit.models import PrivacyLogEntry, StaffAccount
from leerid.sp.kit.need_to_know import PupilSearch
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.settings import load_settings
from leerid.sp.kit.staff import add_staff, authenticate, list_staff, school_scope
from leerid.store.engine import dispose_engines, session_scope
from leerid.testing.browser import hidden_fields
from leerid.testing.protocol_confirmation import confirm_local_protocol
from leerid.testing.servers import free_port, serve_portal
from tests.sp.conftest import BOUND_ON, add_bound_staff
from tests.sp.test_lars_flow import PASSWORD, staff_login
from tests.sp.test_need_to_know import SCHOOLS, hold, profiled_config

STAFF = "/personeel/medewerkers"
DATES = ("--confidentiality", str(BOUND_ON), "--training", str(BOUND_ON))


@pytest.fixture
def portal(database_url: str, tmp_path: Path) -> Iterator[tuple[ServiceProvider, str]]:
    port = free_port()
    config = profiled_config(tmp_path / "sp", database_url, public_url=f"http://127.0.0.1:{port}")
    provider = ServiceProvider(load_settings(config))
    confirm_local_protocol(provider)
    add_staff(provider.engine, provider.protocol, "dpo.lars", PASSWORD, "dpo")
    with serve_portal(provider, port) as url:
        yield provider, url
    provider.engine.dispose()
    dispose_engines()


def logged(provider: ServiceProvider, action: str) -> list[dict[str, object]]:
    with session_scope(provider.engine) as session:
        rows = session.scalars(
            select(PrivacyLogEntry.detail).where(PrivacyLogEntry.action == action)
        ).all()
    return [json.loads(r) for r in rows]


def notice(browser: httpx.Client, url: str) -> str:
    """The notice the staff page shows after a change (sent along in the sealed session)."""
    page = browser.get(f"{url}{STAFF}").text
    return page.split('<div class="notice', 1)[1].split("</div>", 1)[0]


def post(browser: httpx.Client, url: str, action: str, **fields: str) -> httpx.Response:
    csrf = hidden_fields(browser.get(f"{url}/personeel").text)["csrf"]
    return browser.post(f"{url}{STAFF}/{action}", data={"csrf": csrf, **fields})


def test_the_gate_page_says_what_is_missing_and_who_records_it(
    portal: tuple[ServiceProvider, str],
) -> None:
    provider, url = portal
    add_staff(
        provider.engine,
        provider.protocol,
        "nieuw",
        PASSWORD,
        "toegangscontrole",
        schools=SCHOOLS,
        function_profile="onthaal",
    )
    hold(provider, SCHOOLS[:1], given="Lotte")
    nieuw = staff_login(url, "nieuw")
    refused = nieuw.get(f"{url}/personeel/leerlingen")
    assert refused.status_code == 403
    for words in ("vertrouwelijkheidsverklaring", "sensibilisering", "DPO", "art. 6"):
        assert words in refused.text
    assert "Lotte" not in refused.text
    home = nieuw.get(f"{url}/personeel")
    assert home.status_code == 200 and "vertrouwelijkheidsverklaring" in home.text
    assert 'href="/personeel/leerlingen"' not in home.text.split("<main", 1)[1]

    dpo = staff_login(url, "dpo.lars")
    signed = {"gebruiker": "nieuw", "functie": "profiel:onthaal", "scholen": SCHOOLS[0]}
    post(dpo, url, "bijwerken", **signed, vertrouwelijkheid=str(BOUND_ON))
    still = nieuw.get(f"{url}/personeel/leerlingen")
    assert still.status_code == 403 and "sensibilisering" in still.text
    assert "vertrouwelijkheidsverklaring ondertekende" not in still.text
    post(dpo, url, "bijwerken", **signed, sensibilisering=str(BOUND_ON))
    admitted = nieuw.get(f"{url}/personeel/leerlingen")
    assert admitted.status_code == 200 and "Lotte" in admitted.text


def test_the_dpo_adds_updates_and_disables_staff_and_each_change_is_logged(
    portal: tuple[ServiceProvider, str],
) -> None:
    provider, url = portal
    dpo = staff_login(url, "dpo.lars")
    new = {
        "gebruikersnaam": "tina",
        "wachtwoord": PASSWORD,
        "functie": "profiel:trajectbegeleider",
        "scholen": f"{SCHOOLS[0]}, {SCHOOLS[1]}",
        "vertrouwelijkheid": str(BOUND_ON),
        "sensibilisering": str(BOUND_ON),
    }
    assert post(dpo, url, "toevoegen", **new).status_code == 303
    assert "Medewerker tina toegevoegd" in notice(dpo, url)
    (tina,) = [s for s in list_staff(provider.engine) if s.username == "tina"]
    assert (tina.role, tina.function_profile) == ("toegangscontrole", "trajectbegeleider")
    assert school_scope(tina) == set(SCHOOLS[:2])
    page = dpo.get(f"{url}{STAFF}").text
    assert "tina" in page and f"{SCHOOLS[0]}, {SCHOOLS[1]}" in page

    bad = {  # what is wrong → what the page says
        "wachtwoord": ("kort", "Wachtwoord: minstens 12 tekens"),
        "scholen": ("999999", "geen partnerschool"),
        "gebruikersnaam": ("Tina Peeters", "Gebruikersnaam: 2 tot 80 kleine letters"),
        "functie": ("profiel:directeur", "Functie: kies een functieprofiel"),
        "sensibilisering": ("2999-01-01", "niet in de toekomst"),
    }
    for field, (value, words) in bad.items():
        answer = post(dpo, url, "toevoegen", **{**new, "gebruikersnaam": "tom", field: value})
        assert answer.status_code == 303
        assert "bad" in (shown := notice(dpo, url)) and words in shown, field
    post(dpo, url, "toevoegen", **new)
    assert "bestaat al" in notice(dpo, url)

    update = {"gebruiker": "tina", "functie": "profiel:onthaal", "scholen": SCHOOLS[2]}
    assert post(dpo, url, "bijwerken", **update).status_code == 303
    (tina,) = [s for s in list_staff(provider.engine) if s.username == "tina"]
    assert (tina.function_profile, school_scope(tina)) == ("onthaal", {SCHOOLS[2]})
    assert post(dpo, url, "uitschakelen", gebruiker="tina").status_code == 303
    assert authenticate(provider.engine, "tina", PASSWORD) is None
    post(dpo, url, "uitschakelen", gebruiker="dpo.lars")
    assert "eigen account" in notice(dpo, url)
    csrf_less = dpo.post(f"{url}{STAFF}/uitschakelen", data={"gebruiker": "dpo.lars"})
    assert csrf_less.status_code == 403

    (added,) = logged(provider, "personeel_toegevoegd")
    assert added["profiel"] == "trajectbegeleider" and added["scholen"] == list(SCHOOLS[:2])
    assert logged(provider, "personeel_bijgewerkt")[0]["scholen"] == [SCHOOLS[2]]
    assert logged(provider, "personeel_uitgeschakeld") == [{"personeelslid": "tina"}]
    with session_scope(provider.engine) as session:
        text = " ".join(session.scalars(select(PrivacyLogEntry.detail)))
    assert PASSWORD not in text


def test_an_administrator_manages_staff_but_raises_no_rights(
    portal: tuple[ServiceProvider, str],
) -> None:
    provider, url = portal
    add_bound_staff(provider, "anna", PASSWORD, "medewerker", profile="administratie")
    add_bound_staff(provider, "clb.een", PASSWORD)
    anna = staff_login(url, "anna")
    assert f'href="{STAFF}"' in anna.get(f"{url}/personeel").text
    assert anna.get(f"{url}{STAFF}").status_code == 200
    assert anna.get(f"{url}/personeel/leerlingen").status_code == 403  # no pupil data
    clb = staff_login(url, "clb.een")
    assert clb.get(f"{url}{STAFF}").status_code == 403
    assert post(clb, url, "uitschakelen", gebruiker="anna").status_code == 403

    post(anna, url, "bijwerken", gebruiker="clb.een", functie="rol:dpo", scholen="")
    assert "Enkel de DPO" in notice(anna, url)
    post(anna, url, "bijwerken", gebruiker="anna", functie="profiel:arts", scholen=SCHOOLS[0])
    assert "eigen account" in notice(anna, url)
    post(anna, url, "uitschakelen", gebruiker="anna")
    assert "eigen account" in notice(anna, url)
    accounts = {s.username: s for s in list_staff(provider.engine)}
    assert accounts["clb.een"].role == "toegangscontrole" and accounts["anna"].active
    assert accounts["anna"].function_profile == "administratie"

    # a manager grants no more than a plain profile within their own schools, and touches
    # no DPO nor another manager (art. 4): no second account with more rights than one has
    dates = {"vertrouwelijkheid": str(BOUND_ON), "sensibilisering": str(BOUND_ON)}
    for name, function, schools in (
        ("x.rol", "rol:toegangscontrole", SCHOOLS[0]),  # a role without profile: everything
        ("x.beheer", "profiel:administratie", SCHOOLS[0]),  # another manager
        ("x.elders", "profiel:onthaal", SCHOOLS[1]),  # a school anna does not serve
    ):
        fields = {"gebruikersnaam": name, "wachtwoord": PASSWORD, "functie": function}
        post(anna, url, "toevoegen", **fields, scholen=schools, **dates)
        assert "Als beheerder van personeel" in notice(anna, url), name
    for action in ("uitschakelen", "bijwerken"):
        fields = {"functie": "profiel:onthaal", "scholen": SCHOOLS[0]}
        post(anna, url, action, gebruiker="dpo.lars", **fields)
        assert "Als beheerder van personeel" in notice(anna, url)
    fields = {"gebruikersnaam": "x.ok", "wachtwoord": PASSWORD, "functie": "profiel:onthaal"}
    post(anna, url, "toevoegen", **fields, scholen=SCHOOLS[0], **dates)
    assert "toegevoegd" in notice(anna, url)
    accounts = {s.username: s for s in list_staff(provider.engine)}
    assert not {"x.rol", "x.beheer", "x.elders"} & set(accounts)
    assert accounts["dpo.lars"].active and accounts["x.ok"].function_profile == "onthaal"


def test_a_profile_no_longer_configured_opens_nothing(
    portal: tuple[ServiceProvider, str],
) -> None:
    """Art. 4, second indent, fail closed: an account whose profile was renamed or removed
    from the configuration sees no pupil, in the kit and in the portal."""
    provider, url = portal
    add_bound_staff(provider, "oud", PASSWORD, schools=SCHOOLS[:1], profile="onthaal")
    hold(provider, SCHOOLS[:1], given="Lotte")
    with session_scope(provider.engine) as session:
        session.get(StaffAccount, "oud").function_profile = "verdwenen"  # type: ignore[union-attr]
    with pytest.raises(PermissionError, match="no configured function profile"):
        provider.search_pupils("oud", "toegangscontrole", PupilSearch())
    page = staff_login(url, "oud").get(f"{url}/personeel/leerlingen")
    assert page.status_code == 403 and "geen functieprofiel" in page.text
    assert "Lotte" not in page.text


# -- the command line ---------------------------------------------------------------------


def refusal(result: object) -> str:
    exception = getattr(result, "exception", None)
    assert isinstance(exception, LeeridError), getattr(result, "output", "")
    return exception.message


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_staff_add_and_update_with_a_profile_and_schools_on_the_command_line(
    database_url: str, tmp_path: Path
) -> None:
    config = profiled_config(tmp_path / "sp", database_url)
    run = CliRunner()
    base = ["sp", "staff", "add", "--config", str(config), "--password-stdin"]
    done = run.invoke(
        app,
        [
            *base,
            "arts.een",
            "--profile",
            "arts",
            "--school",
            "12345",
            "--school",
            SCHOOLS[1],
            *DATES,
        ],
        input=PASSWORD + "\n",
    )
    assert done.exit_code == 0, done.output
    listed = run.invoke(app, ["sp", "staff", "list", "--config", str(config)])
    assert "arts" in listed.output and "012345, 023456" in listed.output
    unknown = run.invoke(app, [*base, "x.een", "--profile", "tandarts"], input=PASSWORD + "\n")
    assert "use one of: onthaal, trajectbegeleider, arts" in refusal(unknown)
    outside = run.invoke(
        app, [*base, "x.een", "--profile", "arts", "--school", "999999"], input=PASSWORD + "\n"
    )
    assert "not one of the partner schools" in refusal(outside)
    clash = run.invoke(
        app, [*base, "x.een", "--profile", "arts", "--role", "dpo"], input=PASSWORD + "\n"
    )
    assert "differs from profile" in refusal(clash)
    update = ["sp", "staff", "update", "arts.een", "--config", str(config)]
    moved = run.invoke(app, [*update, "--school", SCHOOLS[3], "--profile", "onthaal"])
    assert moved.exit_code == 0, moved.output
    provider = ServiceProvider(load_settings(config))
    (account,) = list_staff(provider.engine)
    assert (account.function_profile, school_scope(account)) == ("onthaal", {SCHOOLS[3]})
    assert [d["profiel"] for d in logged(provider, "personeel_bijgewerkt")] == ["onthaal"]
    disabled = run.invoke(app, ["sp", "staff", "disable", "arts.een", "--config", str(config)])
    assert disabled.exit_code == 0, disabled.output
    assert logged(provider, "personeel_uitgeschakeld") == [{"personeelslid": "arts.een"}]
    provider.engine.dispose()
    dispose_engines()


def test_a_search_the_page_cannot_read_says_which_field_to_correct(
    portal: tuple[ServiceProvider, str],
) -> None:
    provider, url = portal
    add_bound_staff(provider, "kim", PASSWORD, profile="sleutels")
    kim = staff_login(url, "kim")
    cases = {  # the query → what the page says
        "school=abc": "School: geef een instellingsnummer van hoogstens zes cijfers.",
        "van=31-12-2025": "Laatste aanmelding vanaf: schrijf een datum als JJJJ-MM-DD.",
        "naam=lotte": "Je functieprofiel toont niet beide namen: zoek op datum.",
        "school=012345": "Je functieprofiel toont geen school: zoek op naam of datum.",
        "tot=9999-12-31": "Laatste aanmelding tot en met: kies een dag tussen 2000-01-01",
        "van=0001-01-01": "Laatste aanmelding vanaf: kies een dag tussen 2000-01-01",
    }
    for query, words in cases.items():
        page = kim.get(f"{url}/personeel/leerlingen?{query}")
        assert page.status_code == 400 and words in page.text, query
    assert logged(provider, "leerlingen_gezocht") == []
