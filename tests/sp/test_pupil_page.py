"""The pupil's own page (GDPR art. 15, art. 7) against a real identity provider on loopback,
with LARS's database on the same backend as the provider's."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from leerid.protocol.lifecycle import BRUSSELS
from leerid.sp.kit import onward, onward_export
from leerid.sp.kit.access_request import group_logins
from leerid.sp.kit.models import PrivacyLogEntry, PupilRecord, QualityReport
from leerid.sp.kit.moments import spoken
from leerid.sp.kit.quality_reports import PUPIL_OPEN_LIMIT
from leerid.sp.kit.relying_party import RelyingParty
from leerid.store.engine import session_scope
from leerid.testing.browser import Browser, hidden_fields
from tests.conftest import fresh_database, run_leerid
from tests.sp.conftest import add_bound_staff
from tests.sp.lars_world import Lars, lars_world

PASSWORD = "een-lang-wachtwoord"
CITY = "0207.451.227"  # a KBO number with valid check digits, no LeerID client
CITY_PURPOSE = "Leerlingenvervoer naar de school plannen"
STAFF = "clb.jansens"
ROLE_LABEL = "Medewerkers belast met de toegangscontrole"  # the protocol's role, art. 4
SPOKEN = re.compile(
    r"(maandag|dinsdag|woensdag|donderdag|vrijdag|zaterdag|zondag) \d{1,2} "
    r"(januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december)"
    r" \d{4} om \d{2}\.\d{2} uur"
)
SECTIONS = {"logins", "bewaard", "dossier", "wie_keek", "doorgegeven_aan", "meldingen"}


@contextmanager
def lars_on_backend(database_url: str, tmp_path: Path) -> Iterator[Lars]:
    """The provider on ``database_url`` and LARS on a fresh database of the same backend."""
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    with (
        fresh_database(backend, tmp_path, "lars.db") as lars_url,
        lars_world(database_url, tmp_path, lars_url) as lars,
    ):
        yield lars


def logins(page: str) -> list[str]:
    """The lines of the page's list of logins."""
    found = re.search(r'<ol class="logins"[^>]*>(.*?)</ol>', page, re.S)
    assert found, page
    return re.findall(r"<li>(.*?)</li>", found.group(1), re.S)


def log_entries(lars: Lars, action: str) -> list[PrivacyLogEntry]:
    with session_scope(lars.provider.engine) as session:
        return list(
            session.scalars(
                select(PrivacyLogEntry)
                .where(PrivacyLogEntry.action == action)
                .order_by(PrivacyLogEntry.seq)
            )
        )


def report(browser: Browser, page: httpx.Response, url: str, text: str) -> httpx.Response:
    return browser.http.post(
        f"{url}/mijn-gegevens/melding",
        data={
            "csrf": hidden_fields(page.text)["csrf"],
            "gegeven": "given_name",
            "probleem": "foutief",
            "uitleg": text,
        },
    )


def test_three_logins_are_three_lines_and_the_file_names_no_one(
    database_url: str, tmp_path: Path
) -> None:
    """Art. 5 ("telkens de leerling inlogt"): one line per login, with what LARS received;
    art. 3: what LARS keeps; GDPR art. 15: who looked, by function and day, never by name."""
    with lars_on_backend(database_url, tmp_path) as lars:
        pupil = lars.idp.pupil
        for _ in range(3):
            page = Browser().lars_login(lars.url, pupil.username, pupil.password)
            assert page.status_code == 200, page.text
        lines = logins(page.text)
        assert len(lines) == 3, lines  # the provider lists a token and a userinfo per login
        for line in lines:
            assert SPOKEN.search(line), line
            assert "LARS kreeg" in line and "je voornaam" in line
            assert "het nummer van je school" in line and "je leerlingennummer bij LeerID" in line
            assert line.count("je accountnummer bij LeerID") == 1
            # issue 14: sub is named as the login's code, not as the account (an opaque sub
            # under ACM or leerid's acm profile is not the account_uuid)
            assert "de code waarmee LeerID je aanmelding aanduidt" in line
        assert "je rijksregisternummer" not in page.text  # LARS never receives the INSZ
        assert "Niemand bij LARS bekeek je dossier." in page.text
        # what LARS keeps: the last login, and how long (art. 3)
        assert pupil.voornaam in page.text and "3 jaar lang niet aan" in page.text

        add_bound_staff(
            lars.provider, STAFF, PASSWORD, schools=tuple(lars.provider.settings.partner_schools)
        )
        key = pupil.leer_id_uuid
        lars.provider.view_pupil(STAFF, "toegangscontrole", key, "vraag van de school")
        lars.provider.add_dossier_entry(
            STAFF, "toegangscontrole", key, "Gesprek over de studiekeuze"
        )
        browser = Browser()
        page = browser.lars_login(lars.url, pupil.username, pupil.password)
        assert len(logins(page.text)) == 4
        looked = re.search(r'<ul class="looks">(.*?)</ul>', page.text, re.S)
        assert looked, page.text
        items = re.findall(r"<li>(.*?)</li>", looked.group(1), re.S)
        today = dt.datetime.now(BRUSSELS)
        assert len(items) == 2
        assert all(ROLE_LABEL in item and str(today.year) in item for item in items)
        assert "bekeek het dossier" in items[0] and "voegde een activiteit toe" in items[1]
        assert STAFF not in page.text  # no names (GDPR art. 15 on this page: function only)
        assert "Gesprek over de studiekeuze" in page.text  # what the CLB wrote, with its date


def test_the_pupil_reports_wrong_data_to_the_department(
    database_url: str, tmp_path: Path, leerid_env: dict[str, str]
) -> None:
    """Art. 7: "al dan niet op basis van een mededeling van betrokkene(n), meldt zij dat
    onmiddellijk schriftelijk": stored at LARS, at DOV at once, a code the pupil keeps."""
    with lars_on_backend(database_url, tmp_path) as lars:
        pupil = lars.idp.pupil
        browser = Browser()
        page = browser.lars_login(lars.url, pupil.username, pupil.password)
        assert 'action="/mijn-gegevens/melding"' in page.text
        no_csrf = browser.http.post(f"{lars.url}/mijn-gegevens/melding", data={"uitleg": "x"})
        assert no_csrf.status_code == 403
        sent = report(browser, page, lars.url, "Mijn voornaam wordt met één n geschreven.")
        assert sent.status_code == 200, sent.text
        code = re.search(r"code (DQ-[0-9A-Z]{4})", sent.text)
        assert code and "LeerID" in sent.text and "verbeteren" in sent.text
        env = {**leerid_env, "LEERID_DATABASE_URL": database_url}
        (at_dov,) = json.loads(run_leerid(["reports", "list", "--json"], env).stdout)
        assert (at_dov["id"], at_dov["pupil_key"], at_dov["attribute"]) == (
            code.group(1),
            pupil.leer_id_uuid,
            "given_name",
        )
        assert at_dov["comment"].startswith("Gemeld door de leerling zelf: ")
        (entry,) = log_entries(lars, "melding_door_leerling")
        assert entry.actor == "leerling" and entry.pupil_key == pupil.leer_id_uuid
        page = browser.http.get(f"{lars.url}/mijn-gegevens")
        assert code.group(1) in page.text and "Niemand bij LARS bekeek" in page.text

        # an INSZ in the text is refused, in words a pupil understands; nothing is stored
        refused = report(browser, page, lars.url, "mijn nummer is 98.47.28-997.65")
        assert refused.status_code == 400 and "rijksregisternummer" in refused.text
        assert "Traceback" not in refused.text
        empty = report(browser, page, lars.url, "   ")
        assert empty.status_code == 400 and "Schrijf kort" in empty.text
        # at most PUPIL_OPEN_LIMIT open reports: the next one is refused and says why
        for n in range(PUPIL_OPEN_LIMIT - 1):
            assert report(browser, page, lars.url, f"nog een fout {n}").status_code == 200
        flood = report(browser, page, lars.url, "nog een fout")
        assert flood.status_code == 429 and "niet afgehandeld" in flood.text
        with session_scope(lars.provider.engine) as session:
            stored = session.scalars(select(QualityReport.comment)).all()
        assert len(stored) == PUPIL_OPEN_LIMIT
        assert not any("98.47" in c for c in stored)


def test_the_downloads_are_readable_and_logged(database_url: str, tmp_path: Path) -> None:
    """GDPR art. 15: the same sections as a standalone web page and as JSON, each request in
    the privacy log (art. 6) with its format."""
    with lars_on_backend(database_url, tmp_path) as lars:
        pupil = lars.idp.pupil
        Browser().lars_login(lars.url, pupil.username, pupil.password)
        browser = Browser()
        page = browser.lars_login(lars.url, pupil.username, pupil.password)
        add_bound_staff(
            lars.provider, STAFF, PASSWORD, schools=tuple(lars.provider.settings.partner_schools)
        )
        lars.provider.view_pupil(STAFF, "toegangscontrole", pupil.leer_id_uuid, "vraag")
        csrf = hidden_fields(page.text)["csrf"]
        url = f"{lars.url}/mijn-gegevens/inzage"

        html = browser.http.post(url, data={"csrf": csrf, "formaat": "html"})
        assert html.status_code == 200
        assert html.headers["content-disposition"] == 'attachment; filename="mijn-gegevens.html"'
        assert html.headers["content-type"].startswith("text/html")
        assert "<style>" in html.text and "<link" not in html.text and "<script" not in html.text
        assert " src=" not in html.text and "http" not in html.text  # nothing fetched from outside
        assert len(logins(html.text)) == 2 and pupil.voornaam in html.text
        assert pupil.leer_id_uuid in html.text  # whole, no fold to open in a file
        assert ROLE_LABEL in html.text and STAFF not in html.text
        assert 'action="' not in html.text  # no forms in the file

        data = json.loads(browser.http.post(url, data={"csrf": csrf, "formaat": "json"}).text)
        assert set(data) == SECTIONS
        assert len(data["logins"]) == 2 and "je voornaam" in data["logins"][0]["gegevens"]
        assert data["bewaard"]["sleutel"] == pupil.leer_id_uuid
        assert data["bewaard"]["bewaartermijn"] == "3 jaar"
        ((look),) = data["wie_keek"]
        assert look["functie"] == ROLE_LABEL and set(look) == {"functie", "datum", "wat"}
        assert STAFF not in json.dumps(data)

        unknown = browser.http.post(url, data={"csrf": csrf, "formaat": "pdf"})
        assert unknown.status_code == 400 and "webpagina" in unknown.text
        formats = [json.loads(e.detail)["formaat"] for e in log_entries(lars, "inzageverzoek")]
        assert formats == ["html", "json"]
        assert all(e.actor == "leerling" for e in log_entries(lars, "inzageverzoek"))


def passed_on_to_the_city(lars: Lars, tmp_path: Path) -> None:
    """Art. 4: a counsellor of the pupil's school passes names on to a recipient notified to
    DOV beforehand, through the kit as ``leerid sp onward`` does."""
    with session_scope(lars.provider.engine) as session:
        (school,) = session.scalars(select(PupilRecord.orgcodes)).all()
    add_bound_staff(lars.provider, STAFF, PASSWORD, schools=(school,))

    async def notify_and_export() -> None:
        rp = RelyingParty(lars.provider.settings)
        try:
            await onward.notify(
                lars.provider,
                rp,
                name="Stad Gent",
                kbo=CITY,
                purpose=CITY_PURPOSE,
                legal_basis="Decreet basisonderwijs",
                actor=STAFF,
            )
            await onward_export.export(
                lars.provider,
                rp,
                kbo=CITY,
                actor=STAFF,
                schools=[school],
                out=tmp_path / "gent.json",
                attributes=["voornaam", "naam"],
            )
        finally:
            await rp.aclose()

    asyncio.run(notify_and_export())


def test_the_pupil_sees_to_whom_lars_passed_the_data_on(database_url: str, tmp_path: Path) -> None:
    """GDPR art. 15(1)(c) and art. 4: the recipient's name, the day, which data and why, on
    the page and in both downloads; "Niemand." before any export."""
    with lars_on_backend(database_url, tmp_path) as lars:
        pupil = lars.idp.pupil
        browser = Browser()
        page = browser.lars_login(lars.url, pupil.username, pupil.password)
        assert "Aan wie gaf LARS je gegevens door?" in page.text
        assert re.search(r'id="doorgegeven">.*?<p>Niemand\.</p>', page.text, re.S)
        passed_on_to_the_city(lars, tmp_path)
        page = browser.http.get(f"{lars.url}/mijn-gegevens")
        found = re.search(r'<ul class="passed-on">(.*?)</ul>', page.text, re.S)
        assert found, page.text
        (line,) = re.findall(r"<li>(.*?)</li>", found.group(1), re.S)
        today = dt.datetime.now(BRUSSELS)
        assert str(today.year) in line and "je voornaam en je familienaam aan Stad Gent" in line
        assert CITY_PURPOSE in line and STAFF not in page.text

        csrf = hidden_fields(page.text)["csrf"]
        url = f"{lars.url}/mijn-gegevens/inzage"
        html = browser.http.post(url, data={"csrf": csrf, "formaat": "html"})
        assert "Stad Gent" in html.text and CITY_PURPOSE in html.text
        data = json.loads(browser.http.post(url, data={"csrf": csrf, "formaat": "json"}).text)
        ((given),) = data["doorgegeven_aan"]
        assert given["ontvanger"] == "Stad Gent" and given["kbo"] == CITY
        assert given["gegevens"] == ["je voornaam", "je familienaam"]
        assert given["waarom"] == CITY_PURPOSE and given["datum"].startswith(str(today.year))
        assert data["wie_keek"] == []  # an export is no look at the file (``passed_on``)


def _rows(logins_spec: list[tuple[int, int]]) -> list[dict[str, object]]:
    """Disclosure rows: per login a token row, then ``extra`` userinfo/introspect rows."""
    start = dt.datetime(2025, 3, 3, 13, 5, tzinfo=dt.UTC)
    rows: list[dict[str, object]] = []
    for n, (gap, extra) in enumerate(logins_spec):
        at = start + dt.timedelta(hours=n * 24 + gap)
        rows.append(
            {"at": at.isoformat(), "endpoint": "token", "claims": ["sub"], "outcome": "released"}
        )
        for k in range(extra):
            rows.append(
                {
                    "at": (at + dt.timedelta(seconds=k + 1)).isoformat(),
                    "endpoint": ("userinfo", "introspect")[k % 2],
                    "claims": ["given_name", "ov_orgcode"],
                    "outcome": "released",
                }
            )
    return rows


@given(
    st.lists(st.tuples(st.integers(0, 23), st.integers(0, 3)), max_size=8),
    st.randoms(use_true_random=False),
)
def test_one_line_per_login_whatever_the_order_of_the_rows(
    spec: list[tuple[int, int]], order: object
) -> None:
    """Art. 5: a login is one line, however many releases it took, newest first."""
    rows = _rows(spec)
    order.shuffle(rows)  # type: ignore[attr-defined]
    lines = group_logins(rows)
    assert len(lines) == len(spec)
    assert [line.at for line in lines] == sorted((line.at for line in lines), reverse=True)
    for line, (_gap, extra) in zip(reversed(lines), spec, strict=True):
        expected = {"sub", "given_name", "ov_orgcode"} if extra else {"sub"}
        assert set(line.claims) == expected and line.released


def test_a_refused_login_is_a_line_where_lars_received_nothing() -> None:
    at = "2025-03-03T13:05:00+00:00"
    (line,) = group_logins([{"at": at, "endpoint": "login", "claims": [], "outcome": "refused"}])
    assert not line.released and line.claims == ()


@given(st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2099, 12, 31)))
def test_times_read_as_a_pupil_reads_them_in_belgian_time(moment: dt.datetime) -> None:
    """Plain Dutch for a 12-year-old: "maandag 3 maart 2025 om 14.05 uur", Belgian clocks."""
    text = spoken(moment.replace(tzinfo=dt.UTC))
    assert SPOKEN.fullmatch(text), text
    local = moment.replace(tzinfo=dt.UTC).astimezone(BRUSSELS)
    assert text.endswith(f"om {local:%H.%M} uur") and f" {local.year} " in text
