"""The console's registry pages (issue 13): import runs, rejects, the logged pupil search,
the merges; the roles and the art. 6 dates on each."""

from __future__ import annotations

import datetime as dt
import gzip
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from leerid.errors import LeeridError
from leerid.idp.store.console import staff_log
from leerid.idp.store.console_tables import StaffLogEntry
from leerid.registry.importer import import_registry
from leerid.registry.insz import check_insz
from leerid.registry.merge import merge_pupils
from leerid.registry.models import ImportRun
from leerid.store.engine import make_engine
from leerid.testing.discimus import Enrolled, RegistryPupil, write_discimus
from tests.console.conftest import DPO, OPERATOR, UNDATED, ConsoleSite
from tests.idp_server import SCHOOL, random_insz


def _pupil(insz: str) -> RegistryPupil:
    begin = dt.date.today() - dt.timedelta(days=10)
    born = check_insz(insz).birth_date or dt.date(2012, 3, 4)
    referte = f"T-{uuid.uuid4().hex[:16]}"
    return RegistryPupil(referte, "Claes", "Mira", born, insz, (Enrolled(SCHOOL, begin),))


@pytest.fixture(scope="module")
def engine(site: ConsoleSite) -> Iterator[Engine]:
    eng = make_engine(site.idp.database_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="module")
def runs(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> list[ImportRun]:
    """One import with a rejected row, one that failed (no files)."""
    pupils = [_pupil(random_insz()), _pupil("12345678901")]
    summary = import_registry(engine, write_discimus(tmp_path_factory.mktemp("dis"), pupils))
    assert summary.rejects == 2  # the pupil's row and its enrolment's
    with pytest.raises(LeeridError):
        import_registry(engine, Path(tmp_path_factory.mktemp("leeg")) / "nergens")
    with Session(engine) as session:
        return list(session.scalars(select(ImportRun).order_by(ImportRun.id.desc()).limit(2)))


def test_every_import_is_recorded_also_a_failed_one(runs: list[ImportRun]) -> None:
    failed, imported = runs
    assert failed.outcome == "failed" and "import folder not found" in (failed.error or "")
    assert failed.rejects_gzip is None and failed.files == "leerlingen.csv, inschrijvingen.csv"
    assert imported.outcome == "imported" and imported.rejects == 2
    assert imported.registrations_created == 1 and imported.pupils_identified == 1
    assert imported.finished_at >= imported.started_at
    assert imported.rejects_gzip is not None
    assert "12345678901" not in gzip.decompress(imported.rejects_gzip).decode()  # refertes only


def test_the_register_lists_the_runs_for_operators_only(
    site: ConsoleSite, runs: list[ImportRun]
) -> None:
    with site.browser(OPERATOR) as browser:
        page = browser.open(f"{site.base}/beheer/register")
        assert page.status_code == 200
        assert "mislukt" in page.text and "ingelezen" in page.text
        assert f"/beheer/register/imports/{runs[1].id}/weigeringen.csv" in page.text
    with site.browser(DPO) as browser:
        refused = browser.open(f"{site.base}/beheer/register")
        assert refused.status_code == 403
        assert "Je rol geeft geen toegang tot deze pagina" in refused.text


def test_rejects_download_is_logged(
    site: ConsoleSite, runs: list[ImportRun], engine: Engine
) -> None:
    imports = f"{site.base}/beheer/register/imports"
    path = f"{imports}/{runs[1].id}/weigeringen.csv"
    with site.browser(OPERATOR) as browser:
        answer = browser.open(path)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
        assert answer.text.startswith("bestand,regel,kolom,referte,reden")
        assert browser.open(f"{imports}/{runs[0].id}/weigeringen.csv").status_code == 404
        assert browser.open(f"{imports}/abc/weigeringen.csv").status_code == 404
    newest = staff_log.entries(engine, staff_log.LogFilter(action="rejects_download")).entries
    assert newest[0].actor == OPERATOR and newest[0].detail == {"import": runs[1].id}
    for who in (DPO, UNDATED):
        with site.browser(who) as browser:
            assert browser.open(path).status_code == 403


def test_without_art6_dates_the_search_is_refused_naming_the_date(site: ConsoleSite) -> None:
    with site.browser(UNDATED) as browser:
        answer = browser.open(f"{site.base}/beheer/register/zoeken")
        assert answer.status_code == 403
        assert "vertrouwelijkheidsverklaring" in answer.text and "sensibilisering" in answer.text


def _search(site: ConsoleSite, data: dict[str, str], who: str = OPERATOR) -> tuple[int, str]:
    with site.browser(who) as browser:
        form = browser.open(f"{site.base}/beheer/register/zoeken")
        assert form.status_code == 200
        answer = browser.submit(form, data, index=1)  # form 0 is the logout in the header
        return answer.status_code, answer.text


def test_a_search_is_logged_without_insz_or_name(site: ConsoleSite, engine: Engine) -> None:
    pupil = site.idp.pupil
    for by, value in (("insz", pupil.insz), ("naam", pupil.naam)):
        status, text = _search(site, {"sleutel": by, "waarde": value, "doel": "vraag school 12"})
        assert status == 200, text
        assert pupil.leer_id_uuid in text and pupil.insz not in text
        assert pupil.insz[-4:] in text  # art. 3: the last 4 digits only
    entries = staff_log.entries(engine, staff_log.LogFilter(action="pupil_search")).entries
    assert {e.detail["by"] for e in entries[:2]} == {"insz", "naam"}
    for entry in entries[:2]:
        assert entry.actor == OPERATOR and entry.purpose == "vraag school 12"
        assert entry.pupil_key == pupil.leer_id_uuid
    with Session(engine) as session:
        rows = session.scalars(select(StaffLogEntry)).all()
        for row in rows:
            blob = f"{row.detail} {row.purpose} {row.pupil_key}"
            assert pupil.insz not in blob and pupil.naam not in blob and pupil.voornaam not in blob
    assert staff_log.verify(engine).ok


def test_a_bad_search_names_the_field(site: ConsoleSite) -> None:
    status, text = _search(site, {"sleutel": "referte", "waarde": "R-1", "doel": ""})
    assert status == 400 and "Vul het doel van je opzoeking in" in text
    doel = {"sleutel": "referte", "waarde": "R-1", "doel": "vraag over 05.08.12-123.45"}
    status, text = _search(site, doel)
    assert status == 400 and "Het doel mag geen rijksregisternummer bevatten" in text
    assert 'href="#doel"' in text
    status, text = _search(site, {"sleutel": "insz", "waarde": "12345678901", "doel": "x"})
    assert status == 400 and "geen geldig INSZ" in text
    status, text = _search(site, {"sleutel": "referte", "waarde": "onbekend", "doel": "x"})
    assert status == 200 and "0 leerlingen gevonden" in text


def test_search_needs_csrf_and_the_operator_role(site: ConsoleSite) -> None:
    with site.browser(OPERATOR) as browser:
        data = {"sleutel": "referte", "waarde": "x", "doel": "x", "csrf_token": "vervalst"}
        answer = browser.http.post(f"{site.base}/beheer/register/zoeken", data=data)
        assert answer.status_code == 403 and "formulier was verlopen" in answer.text
    with site.browser(DPO) as browser:
        assert browser.open(f"{site.base}/beheer/register/zoeken").status_code == 403


def test_merges_are_shown_to_both_roles(site: ConsoleSite, engine: Engine) -> None:
    from tests.idp_server import seed_pupil

    other = seed_pupil(site.idp.database_url)
    with Session(engine) as session, session.begin():
        merge_pupils(
            session,
            keep=site.idp.pupil.leer_id_uuid,
            absorb=other.leer_id_uuid,
            operator="helpdesk",
            reason="ticket 42",
        )
    for who in (OPERATOR, DPO, UNDATED):
        with site.browser(who) as browser:
            page = browser.open(f"{site.base}/beheer/register/samenvoegingen")
            assert page.status_code == 200 and other.leer_id_uuid in page.text
            assert "ticket 42" in page.text and other.naam not in page.text.split("<main")[1]
            bad = browser.open(f"{site.base}/beheer/register/samenvoegingen?pagina=nul")
            assert bad.status_code == 400
