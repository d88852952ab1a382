"""The DPO's console at LARS (issue 13 point 2): the privacy log with filters, pages beyond
200, the CSV export, "who looked at this pupil's file", the chart of reads per day and
function, the DPO's home; art. 4 (pseudonyms), art. 6 (the log, its chain), art. 9.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from leerid.cli.main import app
from leerid.protocol.lifecycle import BRUSSELS
from leerid.sp.kit import chain_check, privacy_log
from leerid.sp.kit.models import Breach, PrivacyLogEntry
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.settings import load_settings
from leerid.sp.kit.staff import add_staff, authenticate
from leerid.store.engine import session_scope
from leerid.testing.browser import hidden_fields
from leerid.testing.protocol_confirmation import confirm_local_protocol
from leerid.testing.servers import free_port, serve_portal
from tests.sp.conftest import add_bound_staff, write_config
from tests.sp.test_lars_flow import PASSWORD, staff_login
from tests.sp.test_store import drop_append_only_trigger

PUPIL_A, PUPIL_B = str(uuid.UUID(int=0xA1)), str(uuid.UUID(int=0xB2))
FIRST = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
LOOKED = 230  # views of pupil A by clb.een, with the function recorded: more than a page
SEARCHED = 40  # searches by clb.twee, older entries without the function
LATE = dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC)
FORMULA = '=HYPERLINK("http://evil.example","klik")'
LOG = "/personeel/privacylog"


def _staff(provider: ServiceProvider) -> None:
    """Two counsellors and the DPO; clb.twee without the art. 6 dates (for the home page)."""
    add_bound_staff(provider, "clb.een", PASSWORD)
    add_bound_staff(provider, "dpo.lars", PASSWORD, "dpo")
    add_staff(provider.engine, provider.protocol, "clb.twee", PASSWORD, "toegangscontrole")


def _entries(provider: ServiceProvider) -> None:
    """The log: views of A every 3 hours from 1 March (function recorded), searches by
    clb.twee every 5 hours (none recorded), a view of B whose purpose is a formula, and a
    list viewed at 00:30 on 2 March in Brussels."""
    with session_scope(provider.engine) as session:
        for n in range(LOOKED):
            privacy_log.append(
                session,
                actor="clb.een",
                action="leerling_bekeken",
                purpose=f"vraag {n}",
                pupil_key=PUPIL_A,
                detail={"functie": "CLB-medewerker"},
                at=FIRST + dt.timedelta(hours=3 * n),
            )
        for n in range(SEARCHED):
            privacy_log.append(
                session,
                actor="clb.twee",
                action="leerlingen_gezocht",
                purpose="zoeken",
                at=FIRST + dt.timedelta(hours=5 * n, minutes=1),
            )
        privacy_log.append(
            session,
            actor="clb.een",
            action="leerling_bekeken",
            purpose=FORMULA,
            pupil_key=PUPIL_B,
            detail={"functie": "CLB-medewerker"},
            at=FIRST - dt.timedelta(minutes=1),  # 09:59 in Brussels on 1 March
        )
        privacy_log.append(
            session,
            actor="clb.een",
            action="overzicht_bekeken",
            purpose="lijst",
            detail={"functie": "CLB-medewerker"},
            at=LATE,  # 2 March in Brussels, 1 March in UTC
        )


@contextmanager
def console_world(database_url: str, tmp_path: Path) -> Iterator[tuple[ServiceProvider, str]]:
    """The provider with the staff and the log above, its portal served on loopback."""
    port = free_port()
    config = write_config(tmp_path / "sp", database_url, public_url=f"http://127.0.0.1:{port}")
    provider = ServiceProvider(load_settings(config))
    confirm_local_protocol(provider)
    _staff(provider)
    _entries(provider)
    with serve_portal(provider, port) as url:
        yield provider, url
    provider.engine.dispose()


@pytest.fixture
def console(database_url: str, tmp_path: Path) -> Iterator[tuple[ServiceProvider, str]]:
    with console_world(database_url, tmp_path) as world:
        yield world


def seqs(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<td data-label="Nr.">(\d+)</td>', html)]


def logged(provider: ServiceProvider, action: str) -> list[tuple[str, dict[str, Any]]]:
    with session_scope(provider.engine) as session:
        rows = session.execute(
            select(PrivacyLogEntry.actor, PrivacyLogEntry.detail, PrivacyLogEntry.pupil_key)
            .where(PrivacyLogEntry.action == action)
            .order_by(PrivacyLogEntry.seq)
        ).all()
    assert all(key is None for _, _, key in rows)  # art. 4: never the key in the DPO's acts
    return [(actor, json.loads(detail)) for actor, detail, _ in rows]


def csrf_of(dpo: httpx.Client, url: str) -> str:
    return hidden_fields(dpo.get(f"{url}/personeel").text)["csrf"]


def matching(provider: ServiceProvider, **where: Any) -> list[int]:
    """The entry numbers with these column values, newest first (what a filter must give)."""
    with session_scope(provider.engine) as session:
        stmt = select(PrivacyLogEntry.seq).order_by(PrivacyLogEntry.seq.desc())
        for column, value in where.items():
            stmt = stmt.where(getattr(PrivacyLogEntry, column) == value)
        return list(session.scalars(stmt))


def test_the_filters_find_the_entries_and_pages_go_beyond_200(
    console: tuple[ServiceProvider, str],
) -> None:
    provider, url = console
    dpo = staff_login(url, "dpo.lars")
    name = privacy_log.pseudonym(provider.secrets, PUPIL_A)
    by_name = dpo.get(f"{url}{LOG}", params={"leerling": name})
    assert by_name.status_code == 200
    first = seqs(by_name.text)
    assert first == matching(provider, pupil_key=PUPIL_A)[:200]
    assert PUPIL_A not in by_name.text and "Hashketen intact" in by_name.text
    # the key from an access request is turned into its pseudonym, also upper-case or psn-
    csrf = csrf_of(dpo, url)
    for given in (PUPIL_A.upper(), f"psn-{name}"):
        typed = dpo.post(f"{url}{LOG}", data={"csrf": csrf, "leerling": given})
        assert typed.status_code == 303  # on to the pseudonym: no key in the address bar
        assert typed.headers["location"] == f"{LOG}?leerling={name}"
        assert seqs(dpo.get(url + typed.headers["location"]).text) == first
    # "volgende" to the end, then "vorige" back: every entry once, newest first
    seen, page, pages = list(first), by_name, [by_name]
    while found := re.search(r'href="([^"]+)" rel="next"', page.text):
        page = dpo.get(url + found.group(1).replace("&amp;", "&"))
        pages.append(page)
        seen += seqs(page.text)
    assert len(pages) == 2 and seen == matching(provider, pupil_key=PUPIL_A)
    back = re.search(r'href="([^"]+)" rel="prev"', pages[-1].text)
    assert back is not None and 'rel="prev"' not in by_name.text
    assert seqs(dpo.get(url + back.group(1).replace("&amp;", "&")).text) == first
    # staff member, action, and both together
    by_actor = seqs(dpo.get(f"{url}{LOG}", params={"medewerker": "clb.twee"}).text)
    assert by_actor == matching(provider, actor="clb.twee") and len(by_actor) == SEARCHED
    both = dpo.get(f"{url}{LOG}", params={"medewerker": "clb.een", "actie": "leerlingen_gezocht"})
    assert seqs(both.text) == [] and "Geen items die aan de filter voldoen" in both.text


def test_the_days_are_belgian_days(console: tuple[ServiceProvider, str]) -> None:
    provider, url = console
    dpo = staff_login(url, "dpo.lars")
    one_day = seqs(dpo.get(f"{url}{LOG}", params={"van": "2026-03-01", "tot": "2026-03-01"}).text)
    # 1 March in Brussels (CET, UTC+1) runs from 28 February 23:00 to 1 March 23:00 UTC
    start = dt.datetime(2026, 2, 28, 23, tzinfo=dt.UTC)
    with session_scope(provider.engine) as session:
        stored = session.execute(
            select(PrivacyLogEntry.seq, PrivacyLogEntry.at).order_by(PrivacyLogEntry.seq.desc())
        ).all()
    expected = [seq for seq, at in stored if start <= _utc(at) < start + dt.timedelta(days=1)]
    assert one_day == expected and len(one_day) == 5 + 3 + 1  # views of A, searches, B
    next_day = seqs(dpo.get(f"{url}{LOG}", params={"van": "2026-03-02", "tot": "2026-03-02"}).text)
    assert max(matching(provider, action="overzicht_bekeken")) in next_day


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def test_the_csv_export_is_filtered_formula_safe_and_logged(
    console: tuple[ServiceProvider, str],
) -> None:
    provider, url = console
    dpo = staff_login(url, "dpo.lars")
    before = len(matching(provider))
    csrf = csrf_of(dpo, url)
    everything = dpo.post(f"{url}{LOG}.csv", data={"csrf": csrf})
    assert everything.status_code == 200
    assert everything.headers["content-type"].startswith("text/csv")
    assert "attachment" in everything.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(everything.text)))
    assert rows[0][0] == "nr" and len(rows) - 1 == before + 1  # with the export's own entry
    assert [int(r[0]) for r in rows[1:]] == sorted(matching(provider))[: len(rows) - 1]
    assert PUPIL_A not in everything.text and PUPIL_B not in everything.text
    formula = next(r for r in rows if r[5].endswith('"klik")'))
    assert formula[5] == "'" + FORMULA  # a spreadsheet shows it as text, never runs it
    assert formula[4] == privacy_log.pseudonym(provider.secrets, PUPIL_B)
    assert formula[1] == "2026-03-01T09:59:00+01:00"  # Belgian time
    name = privacy_log.pseudonym(provider.secrets, PUPIL_A)
    filtered = dpo.post(f"{url}{LOG}.csv", data={"csrf": csrf, "leerling": PUPIL_A, "na": "5"})
    lines = list(csv.reader(io.StringIO(filtered.text)))[1:]
    assert len(lines) == LOOKED and {r[4] for r in lines} == {name}  # no paging in an export
    exports = logged(provider, "privacylog_export")
    assert exports == [("dpo.lars", {"filters": {}}), ("dpo.lars", {"filters": {"leerling": name}})]
    page = dpo.get(f"{url}{LOG}", params={"leerling": name})
    export = page.text.split(f'action="{LOG}.csv"', 1)[1].split("</form>", 1)[0]
    assert hidden_fields(export) == {"csrf": csrf, "leerling": name}  # the filters shown


def test_who_looked_is_one_click_from_a_log_line_and_logged(
    console: tuple[ServiceProvider, str],
) -> None:
    provider, url = console
    dpo = staff_login(url, "dpo.lars")
    name = privacy_log.pseudonym(provider.secrets, PUPIL_B)
    page = dpo.get(f"{url}{LOG}")
    assert f'<input type="hidden" name="pseudoniem" value="{name}">' in page.text
    csrf = hidden_fields(page.text)["csrf"]
    answer = dpo.post(f"{url}{LOG}/inzage", data={"csrf": csrf, "pseudoniem": name})
    assert answer.status_code == 200 and PUPIL_B not in answer.text
    assert "1 keer bekeken of aangevuld" in answer.text and "clb.een" in answer.text
    assert logged(provider, "inzage_dpo") == [("dpo.lars", {"pseudoniem": name, "aantal": 1})]
    unknown = dpo.post(f"{url}{LOG}/inzage", data={"csrf": csrf, "pseudoniem": "0" * 16})
    assert unknown.status_code == 200 and "Niemand van het personeel" in unknown.text


def _table(html: str) -> list[list[str]]:
    body = html.split('<div class="chart-table"', 1)[1].split("</table>", 1)[0]
    return [
        re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", row)
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_the_chart_table_holds_the_counts_per_day_and_function(
    console: tuple[ServiceProvider, str],
) -> None:
    provider, url = console
    dpo = staff_login(url, "dpo.lars")
    page = dpo.get(f"{url}{LOG}/grafiek", params={"van": "2026-03-01", "tot": "2026-03-10"})
    assert page.status_code == 200 and "<svg" in page.text and 'role="img"' in page.text
    table = _table(page.text)
    role = next(r.label for r in provider.protocol.roles if r.id == "toegangscontrole")
    header = table[0]
    assert "CLB-medewerker" in header and role in header  # older entries: today's function
    assert f"Bij {SEARCHED} oudere inzage(s) stond de functie niet" in page.text
    rows = {r[0]: r for r in table[1:]}
    assert len(rows) == 10 and header[-1] == "totaal"
    clb, searched = header.index("CLB-medewerker"), header.index(role)
    views: Counter[str] = Counter()
    searches: Counter[str] = Counter()
    for n in range(LOOKED):
        views[_day(FIRST + dt.timedelta(hours=3 * n))] += 1
    for n in range(SEARCHED):
        searches[_day(FIRST + dt.timedelta(hours=5 * n, minutes=1))] += 1
    views["01-03-2026"] += 1  # the view of B at 09:59
    views["02-03-2026"] += 1  # the list at 00:30 on 2 March
    for day in (f"{d:02d}-03-2026" for d in range(1, 11)):
        assert _number(rows[day][clb]) == views[day], day
        assert _number(rows[day][searched]) == searches[day], day
        assert _number(rows[day][-1]) == views[day] + searches[day], day
    assert sum(views.values()) > 0 and "01-03-2026" in rows


def _day(moment: dt.datetime) -> str:
    return f"{moment.astimezone(BRUSSELS).date():%d-%m-%Y}"


def _number(text: str) -> int:
    return int(text.replace(".", "") or 0)


BAD = [
    (LOG, {"van": "gisteren"}, "Van"),
    (LOG, {"van": "2026-03-05", "tot": "2026-03-01"}, "Tot en met"),
    (LOG, {"leerling": "Jan Peeters"}, "Leerling"),
    (LOG, {"medewerker": "clb een"}, "Medewerker"),
    (LOG, {"actie": "DROP TABLE"}, "Actie"),
    (LOG, {"na": "abc"}, "Pagina"),
    (f"{LOG}/grafiek", {"van": "2025-01-01", "tot": "2026-03-01"}, "Van"),
    (f"{LOG}/grafiek", {"tot": "morgen"}, "Tot en met"),
    (f"{LOG}/inzage", {"pseudoniem": "x"}, "Leerling"),
    ("/personeel/meldingen", {"status": "weg"}, "Status"),
]


POSTED_BAD = [
    (LOG, {"van": "gisteren"}, "Van"),
    (LOG, {"leerling": "Jan Peeters"}, "Leerling"),
    (f"{LOG}.csv", {"tot": "31-12-2026"}, "Tot en met"),
    (f"{LOG}/inzage", {"pseudoniem": "x"}, "Leerling"),
]


def test_wrong_filters_get_a_page_that_names_the_field(
    console: tuple[ServiceProvider, str],
) -> None:
    _provider, url = console
    dpo = staff_login(url, "dpo.lars")
    for path, params, field in BAD:
        page = dpo.get(f"{url}{path}", params=params)
        assert page.status_code == 400, (path, params)
        assert page.headers["content-type"].startswith("text/html")
        assert f"{field}:" in page.text, (path, params, page.text[:2000])
        assert "Traceback" not in page.text
    csrf = csrf_of(dpo, url)
    for path, form, field in POSTED_BAD:
        page = dpo.post(f"{url}{path}", data={"csrf": csrf, **form})
        assert page.status_code == 400, (path, form)
        assert page.headers["content-type"].startswith("text/html")
        assert f"{field}:" in page.text and "Traceback" not in page.text, (path, form)


DPO_PAGES = [
    LOG,
    f"{LOG}.csv",
    f"{LOG}/grafiek",
    f"{LOG}/inzage",
    f"{LOG}/inzage?pseudoniem={'0' * 16}",
    "/personeel/meldingen",
    "/personeel/bewijs",
    "/personeel/datalekken",
]


def test_staff_without_the_dpo_role_get_403(console: tuple[ServiceProvider, str]) -> None:
    provider, url = console
    clb = staff_login(url, "clb.een")
    for path in DPO_PAGES:
        refused = clb.get(f"{url}{path}")
        assert refused.status_code == 403, path
        assert "Geen toegang" in refused.text
    assert logged(provider, "privacylog_export") == [] and logged(provider, "inzage_dpo") == []
    home = clb.get(f"{url}/personeel")
    assert home.status_code == 200 and "Wat aandacht vraagt" not in home.text


def test_the_dpo_home_shows_what_needs_attention(console: tuple[ServiceProvider, str]) -> None:
    provider, url = console
    now = dt.datetime.now(dt.UTC)
    with session_scope(provider.engine) as session:
        session.add(
            Breach(
                discovered_at=now - dt.timedelta(hours=80),
                recorded_at=now,
                description="lijst verkeerd gemaild",
                categories="naam",
                pupils_affected=2,
                measures="gewist",
                status="open",
            )
        )
    home = staff_login(url, "dpo.lars").get(f"{url}/personeel")
    assert home.status_code == 200
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", home.text))
    assert "1 gegevenslek(ken) niet afgesloten" in text and "72 uur voorbij" in text
    assert "1 nog niet gemeld en over tijd" in text
    assert "1 medewerker(s) zonder datum" in text and "clb.twee" in text
    assert "0 melding(en) gegevenskwaliteit wachten" in text
    assert "alarm(en) van het transparantielog" in text
    for target in ("/personeel/datalekken", "/personeel/meldingen", "/personeel/medewerkers"):
        assert f'href="{target}"' in home.text
    assert 'href="/personeel/bewijs#transparantielog"' in home.text
    assert (
        'id="transparantielog"' in staff_login(url, "dpo.lars").get(f"{url}/personeel/bewijs").text
    )


def test_the_chain_is_checked_on_every_view_also_between_full_checks(
    console: tuple[ServiceProvider, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    provider, url = console
    dpo = staff_login(url, "dpo.lars")
    first = chain_check.check(provider.engine, provider.secrets)
    assert first.ok and first.entries == len(matching(provider))
    privacy_log.record(provider.engine, actor="clb.een", action="overzicht_bekeken", purpose="x")
    again = chain_check.check(provider.engine, provider.secrets)
    assert again.ok and again.entries == first.entries + 1 and again.full_at == first.full_at
    drop_append_only_trigger(provider.engine)  # someone with rights over the schema
    newest = max(matching(provider))
    alter(provider, newest, purpose="y")  # the newest entry altered: found at once
    page = dpo.get(f"{url}{LOG}")
    assert "De hashketen is verbroken" in page.text and f"entry {newest} was altered" in page.text
    alter(provider, newest, purpose="x")  # put back
    assert chain_check.check(provider.engine, provider.secrets).ok
    alter(provider, 3, actor="z")  # an old entry: not seen between two full checks
    monkeypatch.setattr(chain_check, "FULL_EVERY", 0.0)  # the next full check finds it
    assert "entry 3 was altered" in dpo.get(f"{url}{LOG}").text


def alter(provider: ServiceProvider, seq: int, **values: str) -> None:
    with provider.engine.begin() as conn:
        conn.execute(update(PrivacyLogEntry).where(PrivacyLogEntry.seq == seq).values(**values))


def test_anonymous_visitors_are_sent_to_the_login(console: tuple[ServiceProvider, str]) -> None:
    _provider, url = console
    with httpx.Client(follow_redirects=False) as http:
        for path in DPO_PAGES:
            assert http.get(f"{url}{path}").headers["location"] == "/personeel/aanmelden"


def test_the_dpo_gives_a_new_password_and_filters_the_staff_list(
    console: tuple[ServiceProvider, str],
) -> None:
    provider, url = console
    dpo = staff_login(url, "dpo.lars")
    staff = f"{url}/personeel/medewerkers"
    csrf = hidden_fields(dpo.get(staff).text)["csrf"]
    new = "een-nieuw-lang-wachtwoord"
    fields = {"csrf": csrf, "gebruiker": "clb.een", "wachtwoord": new}
    assert dpo.post(f"{staff}/wachtwoord", data=fields).status_code == 303
    assert "Nieuw wachtwoord voor clb.een bewaard" in dpo.get(staff).text
    assert authenticate(provider.engine, "clb.een", new) is not None
    assert authenticate(provider.engine, "clb.een", PASSWORD) is None
    assert logged(provider, "personeel_wachtwoord") == [("dpo.lars", {"personeelslid": "clb.een"})]
    for refused, words in (
        ({**fields, "wachtwoord": "kort"}, "Wachtwoord: minstens 12 tekens"),
        ({**fields, "gebruiker": "dpo.lars"}, "eigen account"),
        ({**fields, "gebruiker": "niemand"}, "Onbekend personeelslid"),
    ):
        dpo.post(f"{staff}/wachtwoord", data=refused)
        assert words in dpo.get(staff).text
    assert dpo.post(f"{staff}/wachtwoord", data={**fields, "csrf": "x"}).status_code == 403
    clb = staff_login(url, "clb.twee")  # no manager: refused
    clb_csrf = hidden_fields(clb.get(f"{url}/personeel").text)["csrf"]
    answer = clb.post(f"{staff}/wachtwoord", data={**fields, "csrf": clb_csrf})
    assert answer.status_code == 403
    unbound = dpo.get(staff, params={"toon": "zonder-datums"}).text
    assert "<h2" in unbound and re.findall(r'<h2 id="m-\d+">(\S+)', unbound) == ["clb.twee"]
    named = dpo.get(staff, params={"naam": "clb"}).text
    assert re.findall(r'<h2 id="m-\d+">(\S+)', named) == ["clb.een", "clb.twee"]
    assert dpo.get(staff, params={"toon": "iedereen"}).status_code == 400


def test_a_new_password_on_the_command_line(console: tuple[ServiceProvider, str]) -> None:
    provider, _url = console
    config = str(provider.settings.path)
    new = "weer-een-ander-wachtwoord"
    args = ["sp", "staff", "password", "clb.twee", "--password-stdin", "--config", config]
    done = CliRunner().invoke(app, args, input=f"{new}\n")
    assert done.exit_code == 0, done.output
    assert "new password set" in done.output and new not in done.output
    assert authenticate(provider.engine, "clb.twee", new) is not None
    short = CliRunner().invoke(app, args, input="kort\n")
    assert short.exit_code != 0 and "at least 12 characters" in str(short.exception)
    assert logged(provider, "personeel_wachtwoord") == [("dpo", {"personeelslid": "clb.twee"})]
