"""DOV's staff privacy log for DOV's DPO (``/beheer/privacylog``, issue 13; art. 4, 6): the
entries after an operator's search, the pupil only as a pseudonym, the filters, keyset pages
of 200, a 400 page per bad field, no operator, and an edited row named as a broken chain."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, select, update

from leerid.idp.store.console import staff_log
from leerid.idp.store.console.pseudonyms import dpo_pseudonyms
from leerid.idp.store.console_tables import StaffLogEntry
from leerid.store.engine import make_engine
from tests.console.conftest import DPO, OPERATOR, UNDATED, ConsoleSite

PAGE = "/beheer/privacylog"
BULK = "bulk-medewerker"


@pytest.fixture(scope="module")
def engine(site: ConsoleSite) -> Iterator[Engine]:
    eng = make_engine(site.idp.database_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def searched(site: ConsoleSite) -> str:
    """An operator searched the pupil by INSZ: the text of the DPO's page afterwards."""
    with site.browser(OPERATOR) as browser:
        form = browser.open(f"{site.base}/beheer/register/zoeken")
        data = {"sleutel": "insz", "waarde": site.idp.pupil.insz, "doel": "vraag school 7"}
        answer = browser.submit(form, data, index=1)  # form 0 is the logout in the header
        assert answer.status_code == 200, answer.text
    return _page(site, "?actie=pupil_search")[1]


def _page(site: ConsoleSite, query: str = "", who: str = DPO) -> tuple[int, str]:
    with site.browser(who) as browser:
        answer = browser.open(f"{site.base}{PAGE}{query}")
        return answer.status_code, answer.text


def _rows(text: str) -> list[int]:
    """The entry numbers shown, in order."""
    return [int(n) for n in re.findall(r'<tr>\s*<td class="num">(\d+)</td>', text)]


def _link(text: str, label: str) -> str | None:
    found = re.search(r'<a href="(\?[^"]*)">' + re.escape(label), text)
    return html.unescape(found[1]) if found else None


def test_the_search_is_shown_with_the_pupil_as_a_pseudonym(
    site: ConsoleSite, engine: Engine, searched: str
) -> None:
    pupil = site.idp.pupil
    name = dpo_pseudonyms(engine, [pupil.leer_id_uuid])[pupil.leer_id_uuid]
    assert "Leerling opgezocht in het register" in searched
    assert "vraag school 7" in searched and OPERATOR in searched
    assert name in searched  # in the pupil column and where the key stood in the detail
    assert pupil.leer_id_uuid not in searched and pupil.leer_id_uuid.upper() not in searched
    assert pupil.insz not in searched and pupil.naam not in searched
    assert "Hashketen intact" in searched


def test_the_pseudonym_filter(site: ConsoleSite, engine: Engine, searched: str) -> None:
    key = site.idp.pupil.leer_id_uuid
    name = dpo_pseudonyms(engine, [key])[key]
    status, text = _page(site, f"?leerling={name}")
    assert status == 200 and _rows(text) and "vraag school 7" in text
    with engine.connect() as conn:
        wanted = conn.scalars(
            select(StaffLogEntry.seq)
            .where(StaffLogEntry.pupil_key == key)
            .order_by(StaffLogEntry.seq.desc())
        ).all()
    assert _rows(text) == list(wanted)
    status, text = _page(site, "?leerling=psn-0000000000000000")
    assert status == 200 and _rows(text) == [] and "Geen items voor deze filter" in text


def test_the_staff_action_and_day_filters(site: ConsoleSite, engine: Engine) -> None:
    at = dt.datetime(2021, 6, 15, 22, 30, tzinfo=dt.UTC)  # 16 June, 00:30 in Brussels
    seq = staff_log.record(
        engine, actor="nachtwacht", action="staff_dates", purpose="datums", at=at
    )
    status, text = _page(site, "?medewerker=nachtwacht&van=2021-06-16&tot=2021-06-16")
    assert status == 200 and _rows(text) == [seq]
    assert "2021-06-16 00:30" in text and "Datums van art. 6 vastgelegd" in text
    assert _rows(_page(site, "?medewerker=nachtwacht&tot=2021-06-15")[1]) == []
    assert _rows(_page(site, "?medewerker=nachtwacht&actie=staff_dates")[1]) == [seq]
    assert _rows(_page(site, "?medewerker=nachtwacht&actie=staff_add")[1]) == []
    assert _rows(_page(site, "?medewerker=iemand-anders&van=2021-06-16")[1]) == []


def test_pages_of_200_by_keyset(site: ConsoleSite, engine: Engine) -> None:
    with engine.begin() as conn:
        numbers = [
            staff_log.append(conn, actor=BULK, action="staff_role", purpose=f"nr {i}")
            for i in range(250)
        ]
    status, first = _page(site, f"?medewerker={BULK}")
    assert status == 200 and _rows(first) == numbers[::-1][:200]
    assert _link(first, "Vorige pagina") is None
    older = _link(first, "Volgende pagina")
    assert older is not None and f"medewerker={BULK}" in older
    second = _page(site, older)[1]
    assert _rows(second) == numbers[::-1][200:]
    assert _link(second, "Volgende pagina") is None
    newer = _link(second, "Vorige pagina")
    assert newer is not None
    assert _rows(_page(site, newer)[1]) == numbers[::-1][:200]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?actie=iets_anders", "Actie"),
        ("?van=2026-13-01", "Van"),
        ("?van=1999-12-31", "Van"),
        ("?tot=3000-01-01", "Tot en met"),
        ("?van=2026-02-02&tot=2026-02-01", "Van"),
        ("?leerling=0f8e2c4a-1b2c-4d5e-8f90-123456789abc", "Leerling (pseudoniem)"),
        ("?leerling=psn-xyz", "Leerling (pseudoniem)"),
        ("?medewerker=" + "x" * 81, "Medewerker"),
        ("?na=abc", "Volgende pagina"),
        ("?voor=-3", "Vorige pagina"),
    ],
)
def test_a_bad_filter_names_its_field(site: ConsoleSite, query: str, field: str) -> None:
    status, text = _page(site, query)
    assert status == 400, text
    assert f"Het veld „{field}” klopt niet" in text
    assert "Traceback" not in text and "0f8e2c4a-1b2c" not in text


def test_only_the_dpo(site: ConsoleSite) -> None:
    for who in (OPERATOR, UNDATED):
        status, text = _page(site, who=who)
        assert status == 403 and "Je rol geeft geen toegang tot deze pagina" in text
        assert 'href="/beheer/privacylog"' not in text
    with site.browser() as browser:
        answer = browser.open(f"{site.base}{PAGE}")
        assert answer.status_code == 303 and answer.headers["location"].endswith("/aanmelden")
    status, text = _page(site, "")
    assert status == 200 and 'href="/beheer/privacylog"' in text


def test_an_edited_row_breaks_the_chain(site: ConsoleSite, engine: Engine) -> None:
    seq = staff_log.record(engine, actor=BULK, action="staff_add", purpose="echt")
    with engine.begin() as conn:
        conn.execute(update(StaffLogEntry).where(StaffLogEntry.seq == seq).values(purpose="vals"))
    try:
        status, text = _page(site)
        assert status == 200
        assert "De hashketen is verbroken" in text
        assert f"item {seq} werd gewijzigd" in text and "Hashketen intact" not in text
    finally:
        with engine.begin() as conn:
            conn.execute(
                update(StaffLogEntry).where(StaffLogEntry.seq == seq).values(purpose="echt")
            )
    assert "Hashketen intact" in _page(site)[1]
