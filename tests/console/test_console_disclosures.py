"""Issue 13: the console's disclosures and logins pages: filters, charts, CSV files and the
queries behind them, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, insert, text, update

from leerid.idp.console import disclosure_views as views
from leerid.idp.store.clients import add_client
from leerid.idp.store.console import disclosure_queries, staff_log
from leerid.idp.store.console.disclosure_counts import upsert_counts
from leerid.idp.store.console.disclosure_queries import (
    MAX_LINES,
    DisclosureFilter,
    disclosure_lines,
    lines_clients,
    logins_per_hour,
    per_day_per_client,
    refused_logins,
)
from leerid.idp.store.console_tables import DisclosureRollup
from leerid.idp.store.models import Disclosure
from leerid.protocol.lifecycle import BRUSSELS
from leerid.store.engine import make_engine
from tests.console.conftest import DPO, OPERATOR, ConsoleSite
from tests.test_page_words import check, visible

UTC = dt.UTC
TODAY = dt.date(2026, 11, 30)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"van": "30-11-2026"}, "van"),
        ({"tot": "gisteren"}, "tot"),
        ({"van": "2026-11-30", "tot": "2026-11-01"}, "van"),
        ({"van": "2025-01-01", "tot": "2026-11-30"}, "tot"),  # more than 366 days
        ({"klant": "onbekend"}, "klant"),
        ({"uitkomst": "misschien"}, "uitkomst"),
        ({"protocol": "x" * 101}, "protocol"),
    ],
)
def test_a_bad_filter_names_its_field(params: dict[str, str], field: str) -> None:
    with pytest.raises(views.BadFilterError) as caught:
        views.parse_disclosure_filter(params, TODAY, ["lars"])
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"tot": "9999-12-31"}, "tot"),
        ({"van": "0001-01-01", "tot": "0001-01-01"}, "tot"),
        ({"van": "1999-12-31", "tot": "2000-01-01"}, "van"),
        ({"tot": "3000-01-01"}, "tot"),
    ],
)
def test_a_date_outside_2000_to_2999_names_its_field(params: dict[str, str], field: str) -> None:
    with pytest.raises(views.BadFilterError) as caught:
        views.parse_disclosure_filter(params, TODAY, ["lars"])
    assert caught.value.field == field and "tussen 2000-01-01 en 2999-12-31" in caught.value.text
    edge = views.parse_disclosure_filter({"van": "2999-12-31", "tot": "2999-12-31"}, TODAY, [])
    assert edge.start == edge.end == dt.date(2999, 12, 31)


def test_the_default_filter_is_the_last_30_days() -> None:
    flt = views.parse_disclosure_filter({}, TODAY, ["lars"])
    assert (flt.start, flt.end) == (dt.date(2026, 11, 1), TODAY)
    flt = views.parse_disclosure_filter(
        {"klant": "lars", "protocol": "-", "uitkomst": "refused"}, TODAY, ["lars"]
    )
    assert (flt.client_id, flt.protocol_id, flt.outcome) == ("lars", "", "refused")
    assert "protocol=-" in views.query_string(flt)
    whole_year = {"van": "2025-11-30", "tot": "2026-11-30"}  # 366 days: allowed
    assert views.parse_disclosure_filter(whole_year, TODAY, []).start == dt.date(2025, 11, 30)


def test_the_day_chart_names_clients_and_shows_every_day() -> None:
    flt = DisclosureFilter(dt.date(2026, 11, 1), dt.date(2026, 11, 3))
    rows = [(dt.date(2026, 11, 1), "c-1", 5), (dt.date(2026, 11, 3), "c-2", 7)]
    chart = views.day_chart(rows, flt, {"c-1": "LARS", "c-2": "Smartschool"})
    assert chart.headers == ("dag", "LARS", "Smartschool", "totaal")
    assert chart.rows == [
        ("2026-11-01", "5", "0", "5"),
        ("2026-11-02", "0", "0", "0"),
        ("2026-11-03", "0", "7", "7"),
    ]
    assert "c-1" not in str(chart.svg)
    table = views.client_table(rows, flt, {"c-1": "LARS"})
    assert [(r.name, r.total, r.busiest) for r in table] == [
        ("c-2", "7", "2026-11-03 (7)"),
        ("LARS", "5", "2026-11-01 (5)"),
    ]


@pytest.mark.parametrize(
    ("day", "hours"), [(dt.date(2026, 3, 29), 23), (dt.date(2026, 10, 25), 25), (TODAY, 24)]
)
def test_logins_per_hour_has_the_hours_of_the_brussels_day(day: dt.date, hours: int) -> None:
    chart = views.hour_chart([], day, {})
    assert len(chart.rows) == hours
    if hours == 25:
        assert [row[0] for row in chart.rows][2:4] == ["02:00 CEST", "02:00 CET"]
    if hours == 24:
        assert chart.rows[0][0] == "00:00" and chart.rows[-1][0] == "23:00"


def test_the_lines_csv_is_formula_safe_and_has_no_pupil() -> None:
    from leerid.idp.store.console.disclosure_queries import DisclosureLine

    line = DisclosureLine(
        at=dt.datetime(2026, 7, 15, 22, 30, tzinfo=UTC),
        client_id="c-1",
        protocol_id="prot-1",
        endpoint="token",
        claims="given_name sub",
        outcome="released",
        reason="",
    )
    text_out = "".join(views.lines_csv([line] * 1500, {"c-1": '=HYPERLINK("x")'}))
    rows = list(csv.reader(io.StringIO(text_out)))
    assert rows[0] == [
        "tijd", "klant_id", "klant", "protocol", "endpoint", "claims", "uitkomst", "reden"
    ]  # fmt: skip
    assert len(rows) == 1501
    assert rows[1][0] == "2026-07-16T00:30:00+02:00"  # Brussels time
    assert rows[1][2].startswith("'=") and rows[1][6] == "vrijgegeven"


def _record(
    at: dt.datetime, client: str, outcome: str, endpoint: str = "token", reason: str | None = None
) -> dict[str, object]:
    return {
        "at": at,
        "client_id": client,
        "protocol_id": "prot-1",
        "protocol_hash": None,
        "leer_id_uuid": "11111111-2222-3333-4444-555555555555",
        "account_uuid": "66666666-7777-8888-9999-000000000000",
        "claims": "sub",
        "endpoint": endpoint,
        "outcome": outcome,
        "reason": reason,
        "log_leaf": None,
    }


def test_the_queries_read_the_counts_and_the_records(engine: Engine) -> None:
    summer = dt.datetime(2026, 7, 15, 21, 30, tzinfo=UTC)  # 23:30 in Brussels: the 15th
    late = dt.datetime(2026, 7, 15, 22, 30, tzinfo=UTC)  # 00:30 in Brussels: the 16th
    days = Counter(
        {
            (dt.date(2026, 7, 15), "lars", "prot-1", "token", "released"): 3,
            (dt.date(2026, 7, 16), "lars", "prot-1", "token", "released"): 2,
            (dt.date(2026, 7, 16), "bingel", "", "userinfo", "refused"): 1,
        }
    )
    hours = Counter(
        {
            (summer.replace(minute=0), "lars", "token", "released"): 3,
            (late.replace(minute=0), "lars", "token", "released"): 2,
            (late.replace(minute=0), "lars", "userinfo", "released"): 9,  # not a login
        }
    )
    with engine.begin() as conn:
        upsert_counts(conn, days, hours)
        conn.execute(
            insert(Disclosure),
            [
                _record(summer, "lars", "released"),
                _record(late, "lars", "released"),
                _record(late, "lars", "refused", "login", "wrong_password"),
                _record(late, "lars", "refused", "login", "wrong_password"),
                _record(summer, "bingel", "refused", "login", "locked"),
            ],
        )
    july = DisclosureFilter(dt.date(2026, 7, 1), dt.date(2026, 7, 31))
    assert per_day_per_client(engine, july) == [
        (dt.date(2026, 7, 15), "lars", 3),
        (dt.date(2026, 7, 16), "bingel", 1),
        (dt.date(2026, 7, 16), "lars", 2),
    ]
    none = DisclosureFilter(dt.date(2026, 7, 1), dt.date(2026, 7, 31), protocol_id="")
    assert per_day_per_client(engine, none) == [(dt.date(2026, 7, 16), "bingel", 1)]
    assert logins_per_hour(engine, dt.date(2026, 7, 16)) == [(late.replace(minute=0), "lars", 2)]
    assert refused_logins(engine, dt.date(2026, 7, 15), dt.date(2026, 7, 16)) == Counter(
        {(dt.date(2026, 7, 15), "locked"): 1, (dt.date(2026, 7, 16), "wrong_password"): 2}
    )
    clients = lines_clients(engine, july, [])
    assert clients == ["bingel", "lars"]  # the clients the counts saw
    lines = list(disclosure_lines(engine, july, clients))
    assert [line.at for line in lines] == [summer, late]  # refused logins are not in it
    assert MAX_LINES == 100_000
    with pytest.MonkeyPatch.context() as patch:  # keyset batches of one record, merged
        patch.setattr(disclosure_queries, "BATCH", 1)
        assert list(disclosure_lines(engine, july, clients)) == lines


def test_refused_logins_use_the_outcome_index(engine: Engine) -> None:
    """PostgreSQL plans the live count over the index (outcome, at)."""
    if engine.dialect.name != "postgresql":
        with engine.connect() as conn:
            plan = " ".join(
                str(row)
                for row in conn.execute(
                    text(
                        "EXPLAIN QUERY PLAN SELECT count(*) FROM idp_disclosure WHERE "
                        "outcome = 'refused' AND at >= '2026-07-01' AND at < '2026-07-31' "
                        "AND endpoint = 'login'"
                    )
                )
            )
        assert "ix_idp_disclosure_outcome_at" in plan
        return
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(
            row[0]
            for row in conn.execute(
                text(
                    "EXPLAIN SELECT count(*) FROM idp_disclosure WHERE outcome = 'refused' "
                    "AND at >= now() - interval '31 days' AND endpoint = 'login'"
                )
            )
        )
    assert "ix_idp_disclosure_outcome_at" in plan


# --- the pages, over HTTP on a running provider (tests/console/conftest.py) -----------------

HOSTILE = '<script>alert("LARS")</script>'


@pytest.fixture(scope="module")
def seeded(site: ConsoleSite) -> dict[str, str]:
    """Two clients (one with a hostile name), counts for this month, and records."""
    engine = make_engine(site.idp.database_url)
    lars, _ = add_client(
        engine, name=HOSTILE, protocol_id="prot-1", redirect_uris=["https://lars.example/cb"]
    )
    bingel, _ = add_client(
        engine, name="=Bingel", protocol_id="prot-2", redirect_uris=["https://b.example/cb"]
    )
    today = dt.datetime.now(BRUSSELS).date()
    now = dt.datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    days = Counter(
        {
            (today, lars.client_id, "prot-1", "token", "released"): 40,
            (today - dt.timedelta(days=3), bingel.client_id, "prot-2", "token", "released"): 12,
        }
    )
    hours = Counter({(now, lars.client_id, "token", "released"): 40})
    with engine.begin() as conn:
        # counted already: the provider's integrator must not rebuild from the records
        conn.execute(update(DisclosureRollup).values(rebuilt_at=dt.datetime.now(UTC)))
        upsert_counts(conn, days, hours)
        conn.execute(
            insert(Disclosure),
            [
                {**_record(now, lars.client_id, "released"), "claims": "given_name sub"},
                _record(now, lars.client_id, "refused", "login", "wrong_password"),
            ],
        )
    engine.dispose()
    return {"lars": lars.client_id, "bingel": bingel.client_id}


@pytest.mark.parametrize("who", [OPERATOR, DPO])
def test_both_roles_see_the_disclosures_chart_with_client_names(
    site: ConsoleSite, seeded: dict[str, str], who: str
) -> None:
    page = site.browser(who).http.get(f"{site.base}/beheer/verstrekkingen")
    assert page.status_code == 200, page.text
    assert '<figure class="chart" id="verstrekkingen-per-dag">' in page.text
    assert 'role="img" aria-labelledby="verstrekkingen-per-dag-caption"' in page.text
    assert "<script>" not in page.text and "&lt;script&gt;alert" in page.text
    assert seeded["lars"] not in visible(page.text)  # names, not ids
    assert ">40<" in page.text and ">12<" in page.text
    assert 'aria-current="page"' in page.text
    check(f"verstrekkingen ({who})", page.text)
    logins = site.browser(who).http.get(f"{site.base}/beheer/aanmeldingen")
    assert logins.status_code == 200, logins.text
    assert 'id="aanmeldingen-per-uur"' in logins.text and 'id="geweigerd-per-reden"' in logins.text
    assert "verkeerd wachtwoord" in logins.text and "wrong_password" not in logins.text
    check(f"aanmeldingen ({who})", logins.text)


def test_the_filters_narrow_the_chart(site: ConsoleSite, seeded: dict[str, str]) -> None:
    http = site.browser(OPERATOR).http
    one = http.get(f"{site.base}/beheer/verstrekkingen", params={"klant": seeded["bingel"]})
    assert one.status_code == 200 and ">12<" in one.text and ">40<" not in one.text
    refused = http.get(f"{site.base}/beheer/verstrekkingen", params={"uitkomst": "refused"})
    assert "Geen verstrekkingen voor deze keuze." in refused.text
    none = http.get(f"{site.base}/beheer/verstrekkingen", params={"protocol": "-"})
    assert "geen gegevens" in none.text


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/beheer/verstrekkingen", {"van": "1 november"}, "Van"),
        ("/beheer/verstrekkingen", {"van": "2020-01-01"}, "Tot en met"),
        ("/beheer/verstrekkingen.csv", {"klant": "onbekend"}, "Klant"),
        ("/beheer/verstrekkingen/lijnen.csv", {"uitkomst": "x"}, "Uitkomst"),
        ("/beheer/aanmeldingen", {"dag": "morgen"}, "Dag"),
        ("/beheer/aanmeldingen", {"van": "2026-01-01", "tot": "2026-03-01"}, "Tot en met"),
    ],
)
def test_a_bad_filter_is_a_400_page_naming_the_field(
    site: ConsoleSite, path: str, params: dict[str, str], field: str
) -> None:
    page = site.browser(DPO).http.get(f"{site.base}{path}", params=params)
    assert page.status_code == 400
    assert page.headers["content-type"].startswith("text/html")
    assert f"Het veld „{field}” klopt niet" in page.text


DATE_PAGES = {
    "/beheer/verstrekkingen": ("van", "tot"),
    "/beheer/verstrekkingen.csv": ("van", "tot"),
    "/beheer/verstrekkingen/lijnen.csv": ("van", "tot"),
    "/beheer/aanmeldingen": ("dag", "van", "tot"),
}
A_DATE = st.one_of(
    st.dates().map(dt.date.isoformat),  # 0001-01-01 .. 9999-12-31
    st.sampled_from(["0001-01-01", "9999-12-31", "2000-01-01", "2999-12-31", "0000-00-00"]),
    st.text(max_size=12),
)


def test_no_date_in_any_filter_is_a_500(site: ConsoleSite) -> None:
    """Any text in any date field of any disclosure page: the page or a 400 page, never 500."""
    http = site.browser(OPERATOR).http
    fields = [(path, field) for path, names in DATE_PAGES.items() for field in names]

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(fields), A_DATE, st.one_of(st.none(), A_DATE))
    def check_one(where: tuple[str, str], value: str, other: str | None) -> None:
        path, field = where
        params = {field: value}
        if other is not None:
            params["van" if field != "van" else "tot"] = other
        answer = http.get(f"{site.base}{path}", params=params)
        assert answer.status_code in (200, 400), (path, params, answer.status_code)
        if answer.status_code == 400:  # the field named, or the edge's guard of odd text
            assert answer.headers["content-type"].startswith("text/html")

    check_one()


@pytest.mark.parametrize("path", sorted(DATE_PAGES))
def test_an_out_of_range_date_is_a_400_page(site: ConsoleSite, path: str) -> None:
    http = site.browser(DPO).http
    for params in ({"tot": "9999-12-31"}, {"van": "0001-01-01", "tot": "0001-01-01"}):
        answer = http.get(f"{site.base}{path}", params=params)
        assert answer.status_code == 400 and "tussen 2000-01-01 en 2999-12-31" in answer.text
    if path == "/beheer/aanmeldingen":
        answer = http.get(f"{site.base}{path}", params={"dag": "9999-12-31"})
        assert answer.status_code == 400 and "Het veld „Dag” klopt niet" in answer.text


def _exports(site: ConsoleSite) -> list[staff_log.LogEntry]:
    """The DPO's logged downloads of the records (written once the download has ended)."""
    engine = make_engine(site.idp.database_url)
    try:
        for _ in range(50):
            found = staff_log.entries(engine, staff_log.LogFilter(DPO, "verstrekkingen_export"))
            if found.entries:
                return found.entries
            time.sleep(0.1)
        return []
    finally:
        engine.dispose()


def test_the_csv_files(site: ConsoleSite, seeded: dict[str, str]) -> None:
    http = site.browser(DPO).http
    counts = http.get(f"{site.base}/beheer/verstrekkingen.csv")
    assert counts.status_code == 200 and counts.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(counts.text)))
    assert rows[0] == ["dag", "klant_id", "klant", "verstrekkingen"]
    assert sorted((r[2], r[3]) for r in rows[1:]) == [("'=Bingel", "12"), (HOSTILE, "40")]
    lines = http.get(f"{site.base}/beheer/verstrekkingen/lijnen.csv")
    assert lines.status_code == 200 and "attachment" in lines.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(lines.text)))
    assert len(rows) == 2 and rows[1][5] == "given_name sub"
    assert "11111111-2222" not in lines.text and "66666666-7777" not in lines.text
    (entry,) = _exports(site)
    assert entry.detail["lijnen"] == 1 and entry.detail["klant"] == "alle"
    year = {"van": "2026-01-01", "tot": "2026-03-01"}  # > 31 days: only for one client
    wide = http.get(f"{site.base}/beheer/verstrekkingen/lijnen.csv", params=year)
    assert wide.status_code == 400 and "Het veld „Klant” klopt niet" in wide.text
    one = http.get(
        f"{site.base}/beheer/verstrekkingen/lijnen.csv", params={**year, "klant": seeded["lars"]}
    )
    assert one.status_code == 200


def test_no_session_goes_to_the_login(site: ConsoleSite) -> None:
    for path in ("/beheer/verstrekkingen", "/beheer/verstrekkingen.csv", "/beheer/aanmeldingen"):
        answer = site.browser().http.get(f"{site.base}{path}")
        assert answer.status_code == 303 and answer.headers["location"] == "/beheer/aanmelden"
