"""DOV's console pages for its duties (issue 13): data-quality reports (art. 7), notices
(art. 6, 9), the breach register (art. 9, GDPR art. 33) and the evidence (art. 6); every
page for every role, CSRF, 400 on bad input, 404 on unknown ids; the CLI on the same data."""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine

from leerid.duties.breach_clock import BRUSSELS
from leerid.duties.breach_register import BreachInputError
from leerid.duties.mail import MailError, MailSettings
from leerid.idp.store.clients import Client, list_clients
from leerid.idp.store.console import breaches
from leerid.idp.store.console.staff_log import verify
from leerid.idp.store.notices import store_notice
from leerid.idp.store.quality_reports import list_reports, store_report
from leerid.store.engine import make_engine
from leerid.testing import seeding
from leerid.testing.browser import Browser, hidden_field
from leerid.testing.servers import free_port
from tests.conftest import BACKENDS, Leerid, fresh_database
from tests.console.conftest import DPO, OPERATOR, PASSWORD, UNDATED
from tests.idp_server import PROTOCOL_FILE, RunningIdp, running_idp
from tests.sp.test_breaches_mail import Inbox

OTHER_DPO = "dpo@ontvanger.example"
INSZ = "05.08.12-123.45"
PAGES = ("/beheer/meldingen", "/beheer/kennisgevingen", "/beheer/datalekken", "/beheer/bewijs")
UNDATED_DPO = "dpo-nieuw"
# page → status per role (operator with the art. 6 dates, DPO, operator without them, DPO
# without them: art. 6 binds every role before pupil data or a breach's contents)
EXPECTED = {
    "/beheer/meldingen": (200, 200, 403, 403),
    "/beheer/kennisgevingen": (200, 200, 200, 200),
    "/beheer/datalekken": (403, 200, 403, 403),
    "/beheer/bewijs": (200, 200, 200, 200),
    "/beheer/bewijs.json": (200, 200, 200, 200),
}


@dataclass(frozen=True)
class DutySite:
    idp: RunningIdp
    inbox: Inbox
    url: str

    def browser(self, username: str) -> Browser:
        browser = Browser()
        answer = browser.console_login(self.url, username, PASSWORD)
        assert answer.status_code == 303, answer.text
        return browser

    def post(self, browser: Browser, path: str, page: str, **data: str) -> httpx.Response:
        """Post ``data`` with the CSRF token of ``page``, as the page's form does."""
        csrf = hidden_field(browser.http.get(self.url + page).text, "csrf_token")
        return browser.http.post(self.url + path, data={"csrf_token": csrf, **data})


@pytest.fixture(scope="module", params=BACKENDS)
def duty_site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DutySite]:
    inbox, port = Inbox(), free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    env = {"LEERID_MAIL_SMTP_PORT": str(port), "LEERID_MAIL_OTHER_PARTY_DPO": OTHER_DPO}
    try:
        with (
            fresh_database(request.param, tmp_path_factory.mktemp("duties")) as url,
            running_idp(url, more_env=env) as idp,
        ):
            engine = make_engine(url)
            for name, role, dated in (
                (OPERATOR, "operator", True),
                (DPO, "dpo", True),
                (UNDATED, "operator", False),
                (UNDATED_DPO, "dpo", False),
            ):
                seeding.add_console_staff(engine, name, PASSWORD, role, dated=dated)
            engine.dispose()
            yield DutySite(idp, inbox, idp.base_url)
    finally:
        smtp.stop()


def test_every_page_for_every_role(duty_site: DutySite) -> None:
    """Issue 13: a role that must not see a page gets 403; nobody logged in goes to login."""
    for path, statuses in EXPECTED.items():
        for username, status in zip((OPERATOR, DPO, UNDATED, UNDATED_DPO), statuses, strict=True):
            with duty_site.browser(username) as browser:
                answer = browser.http.get(duty_site.url + path)
            assert answer.status_code == status, (path, username, answer.status_code)
            if status == 403:
                assert "Geen toegang" in answer.text
        anonymous = httpx.get(duty_site.url + path)
        assert anonymous.status_code == 303
        assert anonymous.headers["location"] == "/beheer/aanmelden"
    with duty_site.browser(OPERATOR) as browser:
        menu = browser.http.get(duty_site.url + "/beheer").text
    assert "/beheer/meldingen" in menu and "/beheer/datalekken" not in menu  # no dead link


def test_a_dpo_without_the_art6_dates_sees_no_pupil_data(duty_site: DutySite) -> None:
    """Art. 6: the evidence's claim "without pledge and training no access to pupil data
    (enforced)" holds for the DPO too: the reports, the breach register and its forms."""
    with duty_site.browser(UNDATED_DPO) as browser:
        evidence = browser.http.get(duty_site.url + "/beheer/bewijs").text
        assert "geen toegang tot leerlingengegevens (afgedwongen)" in evidence
        for path in ("/beheer/meldingen", "/beheer/datalekken"):
            answer = browser.http.get(duty_site.url + path)
            assert answer.status_code == 403 and "Ontbreekt" in answer.text, path
        form = {"wat": "x", "categorieen": "naam", "aantal": "1", "vastgesteld": "2026-01-01T10:00"}
        for path in ("/beheer/datalekken", "/beheer/datalekken/1"):
            answer = duty_site.post(browser, path, "/beheer/kennisgevingen", **form)
            assert answer.status_code == 403 and "Ontbreekt" in answer.text, path


def test_the_dpo_records_a_breach_and_the_recipients_dpo_is_told(duty_site: DutySite) -> None:
    page = "/beheer/datalekken"
    found = (dt.datetime.now(BRUSSELS) - dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    form = {
        "vastgesteld": found,
        "wat": "Export op een gedeelde schijf",
        "categorieen": "naam, school",
        "aantal": "40",
        "maatregelen": "Schijf afgesloten",
    }
    with duty_site.browser(DPO) as dpo, duty_site.browser(OPERATOR) as op:
        assert duty_site.post(op, page, page, **form).status_code == 403
        assert dpo.http.post(duty_site.url + page, data=form).status_code == 403  # no CSRF
        before = len(duty_site.inbox.messages)
        for bad, says in [
            ({"aantal": "veel"}, "aantal leerlingen"),
            ({"aantal": "10000001"}, "van 0 tot 10.000.000"),
            ({"aantal": "9" * 40}, "van 0 tot 10.000.000"),
            ({"aantal": "-1"}, "aantal leerlingen"),
            ({"vastgesteld": "0001-01-01T00:00"}, "tijdstip van vaststelling"),
            ({"vastgesteld": "9999-12-31T23:59"}, "tijdstip van vaststelling"),
            ({"vastgesteld": "gisteren"}, "tijdstip van vaststelling"),
            ({"wat": " "}, "wat er gebeurde"),
            ({"wat": f"Lijst met {INSZ}"}, "rijksregisternummer"),
            ({"ontvanger-bestaat-niet": "1"}, "Onbekende ontvanger"),
        ]:
            answer = duty_site.post(dpo, page, page, **{**form, **bad})
            assert answer.status_code == 400 and says in answer.text, (bad, answer.text)
        done = duty_site.post(dpo, page, page, **form)
        assert done.status_code == 303
        shown = dpo.http.get(duty_site.url + page).text
        assert "Het lek is geregistreerd en gemeld" in shown
        assert "nog 70" in shown and "Export op een gedeelde schijf" in shown
        (mail,) = duty_site.inbox.messages[before:]
        assert mail["To"] == OTHER_DPO and "Export op een gedeelde schijf" in mail.get_payload()
        number = shown.split('id="lek-')[1].split('"')[0]
        target = f"{page}/{number}"
        for bad, says in [
            ({"referentie": "GBA-1", "reden": "laag risico"}, "Kies één"),
            ({"gemeld_op": found}, "referentie"),
            ({"referentie": "GBA-1", "gemeld_op": "morgen"}, "datum en uur"),
            ({"referentie": "GBA-1", "gemeld_op": "0001-01-01T00:00"}, "datum en uur"),
            ({"status": "weg"}, "status"),
            ({"reden": f"zie {INSZ}"}, "rijksregisternummer"),
        ]:
            answer = duty_site.post(dpo, target, page, **bad)
            assert answer.status_code == 400 and says in answer.text, (bad, answer.text)
        assert duty_site.post(dpo, f"{page}/99999", page, tekst="x").status_code == 404
        assert duty_site.post(dpo, f"{page}/abc", page, tekst="x").status_code == 404
        assert duty_site.post(dpo, f"{page}/%C2%B9", page, tekst="x").status_code == 404
        told = duty_site.post(dpo, target, page, tekst="Bestand gewist", referentie="GBA-77")
        assert told.status_code == 303
        shown = dpo.http.get(duty_site.url + page).text
        update_mail = duty_site.inbox.messages[-1].get_payload()
        concerned = {f"ontvanger-{duty_site.idp.client_id}": "1"}
        assert duty_site.post(dpo, page, page, **form, **concerned).status_code == 303
        named = dpo.http.get(duty_site.url + page).text
    engine = make_engine(duty_site.idp.database_url)
    (client,) = [c for c in list_clients(engine) if c.client_id == duty_site.idp.client_id]
    engine.dispose()
    assert f"<dd>{html.escape(client.name)}</dd>" in named  # the recipient by name, not its id
    assert "referentie GBA-77" in shown and "Bestand gewist" in shown
    assert "referentie GBA-77" in update_mail
    engine = make_engine(duty_site.idp.database_url)
    check = verify(engine)
    engine.dispose()
    assert check.ok and check.entries >= 4  # registered, told, updated, told


def test_the_operator_handles_reports_and_the_dpo_reads_them(duty_site: DutySite) -> None:
    """Art. 7: close a received report, send one (only to a recipient that got it, art. 4)."""
    engine = make_engine(duty_site.idp.database_url)
    pupil = duty_site.idp.seed.pupil.leer_id_uuid
    report = store_report(engine, duty_site.idp.client_id, pupil, "family_name", "foutief", "Typo")
    page = "/beheer/meldingen"
    with duty_site.browser(OPERATOR) as op, duty_site.browser(DPO) as dpo:
        listed = op.http.get(f"{duty_site.url}{page}?status=open&bron=client").text
        assert report.code in listed and pupil in listed
        assert op.http.get(f"{duty_site.url}{page}?status=weg").status_code == 400
        close = {"melding": report.code, "oplossing": "Naam verbeterd in DISCIMUS"}
        assert duty_site.post(dpo, page + "/sluiten", page, **close).status_code == 403
        assert duty_site.post(op, page + "/sluiten", page, melding=report.code).status_code == 400
        assert duty_site.post(op, page + "/sluiten", page, **close).status_code == 303
        assert duty_site.post(op, page + "/sluiten", page, **close).status_code == 400  # closed
        gone = {**close, "melding": "DQ-ZZZZ"}
        assert duty_site.post(op, page + "/sluiten", page, **gone).status_code == 404
        send = {
            "ontvanger": duty_site.idp.client_id,
            "sleutel": str(uuid.uuid4()),
            "gegeven": "given_name",
            "probleem": "foutief",
            "toelichting": "Voornaam verkeerd",
        }
        for bad, says in [
            ({"sleutel": "geen-uuid"}, "UUID"),
            ({"gegeven": "shoe_size"}, "uit de lijst"),
            ({"toelichting": f"RRN {INSZ}"}, "rijksregisternummer"),
            ({}, "art. 4"),  # this pupil's data never went to that recipient
        ]:
            answer = duty_site.post(op, page + "/nieuw", page, **{**send, **bad})
            assert answer.status_code == 400 and says in answer.text, (bad, answer.text)
        seen = dpo.http.get(f"{duty_site.url}{page}?status=gesloten")
        assert seen.status_code == 200 and report.code in seen.text
        # art. 4: the DPO supervises; the pupil is a stable pseudonym, never the key
        assert pupil not in seen.text and "psn-" in seen.text
        again = dpo.http.get(f"{duty_site.url}{page}?status=gesloten").text
        assert re.findall(r"psn-[0-9a-f]{16}", again) == re.findall(r"psn-[0-9a-f]{16}", seen.text)
    (closed,) = [r for r in list_reports(engine) if r.code == report.code]
    assert closed.status == "gesloten" and closed.resolution == "Naam verbeterd in DISCIMUS"
    check = verify(engine)
    engine.dispose()
    assert check.ok


def test_the_dpo_acknowledges_notices_and_asks_for_processor_lists(duty_site: DutySite) -> None:
    """Art. 9: notices are acknowledged by DOV's DPO; art. 6: a processor list requested."""
    engine = make_engine(duty_site.idp.database_url)
    notice, _ = store_notice(engine, duty_site.idp.client_id, "wetgeving", "Nieuw decreet", None)
    engine.dispose()
    page = "/beheer/kennisgevingen"
    with duty_site.browser(DPO) as dpo, duty_site.browser(OPERATOR) as op:
        assert "Nieuw decreet" in op.http.get(duty_site.url + page).text
        ack = {"kennisgeving": str(notice.id)}
        assert duty_site.post(op, page + "/bevestigen", page, **ack).status_code == 403
        assert duty_site.post(dpo, page + "/bevestigen", page, **ack).status_code == 303
        assert duty_site.post(dpo, page + "/bevestigen", page, **ack).status_code == 400
        for number in ("999999", "9" * 30, "²"):  # beyond the integer column, or no ASCII
            none = {"kennisgeving": number}
            answer = duty_site.post(dpo, page + "/bevestigen", page, **none)
            assert answer.status_code == 404, (number, answer.status_code)
        ask = {"ontvanger": duty_site.idp.client_id}
        assert duty_site.post(dpo, page + "/verwerkers", page, **ask).status_code == 303
        unknown = {"ontvanger": "geen-client"}
        assert duty_site.post(dpo, page + "/verwerkers", page, **unknown).status_code == 400
        shown = dpo.http.get(duty_site.url + page).text
    assert f"door {DPO}" in shown and duty_site.idp.client_id in shown


def test_the_evidence_as_a_page_and_as_json(duty_site: DutySite) -> None:
    """Art. 6: per measure binding DOV its facts and verdict; the JSON holds the same."""
    with duty_site.browser(OPERATOR) as op:
        page = op.http.get(duty_site.url + "/beheer/bewijs").text
        download = op.http.get(duty_site.url + "/beheer/bewijs.json")
    assert "m-dpo" in page and "aangetoond" in page and "Hashketen" in page
    assert download.headers["content-disposition"].startswith("attachment;")
    data = download.json()
    verdicts = {m["id"]: m["verdict"] for m in data["measures"]}
    assert "m-privacylog" not in verdicts  # the recipient's measure, not DOV's
    assert verdicts["m-bewijs"] == "aangetoond"  # the staff log and the transparency log verify
    (proof,) = [m for m in data["measures"] if m["id"] == "m-bewijs"]
    log = {f["name"]: f["value"] for f in proof["facts"]}["Transparantielog van de mededelingen"]
    assert "ondertekend en geldig" in log, log  # storing the protocol wrote the first entry
    assert verdicts["m-vertrouwelijkheid"] == "niet aangetoond"  # UNDATED has no dates
    assert verdicts["m-verwerkers"] == "niet aangetoond"  # no processors file in this test
    assert verdicts["m-risico"] == "organisatorisch"


def test_the_cli_keeps_the_same_register(
    duty_site: DutySite, leerid: Leerid, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """``leerid breaches`` and ``leerid evidence`` on the provider's database."""
    env = {"LEERID_DATABASE_URL": duty_site.idp.database_url}
    status, err = leerid(
        [
            "breaches", "add", "--discovered", "2026-11-29T08:00", "--description", "Mail fout",
            "--categories", "naam", "--pupils", "1", "--measures", "Teruggeroepen", "--no-notify",
        ],
        env,
    )  # fmt: skip
    assert status == 0, err
    status, err = leerid(
        ["breaches", "update", "1", "--authority-not-needed", "x", "--by", "d"], env
    )
    assert status in (0, 1), err  # breach 1 may be the page's (already reported to the GBA)
    status, err = leerid(
        ["breaches", "update", "1", "--authority-reference", "A", "--authority-not-needed", "B"],
        env,
    )
    assert status == 1 and "not both" in err
    _the_cli_reads_belgian_time_and_bounds_the_count(env, leerid)
    out = tmp_path_factory.mktemp("evidence") / "dov.json"
    status, err = leerid(["evidence", "--full", "--out", str(out)], env)
    assert status == 1  # m-verwerkers is not shown without a processors file
    data = json.loads(out.read_text())
    assert data["party"] == "DOV"
    (proof,) = [m for m in data["measures"] if m["id"] == "m-bewijs"]
    assert proof["verdict"] == "aangetoond"
    facts = {f["name"]: f["value"] for f in proof["facts"]}
    log = facts["Transparantielog van de mededelingen"]
    assert "volledig herberekend" in log, log


def _the_cli_reads_belgian_time_and_bounds_the_count(env: dict[str, str], leerid: Leerid) -> None:
    """A naive --discovered is Belgian time, as on the page; a wall time the clock change
    skips or passes twice is refused, asking for an offset; --pupils is bounded."""
    add = ["breaches", "add", "--description", "Tijd", "--categories", "naam", "--no-notify"]
    add += ["--measures", "Geen"]
    for discovered, says in (
        ("2026-03-29T02:30", "does not exist in Belgian time"),
        ("2026-10-25T02:30", "occurs twice in Belgian time"),
        ("0001-01-01T00:00", "outside 2000-2999"),
    ):
        status, err = leerid([*add, "--discovered", discovered, "--pupils", "1"], env)
        assert status == 1 and says in err and "give an offset" in err, err
    status, err = leerid(
        [*add, "--discovered", "2026-11-28T09:30", "--pupils", "1" + "0" * 12], env
    )
    assert status == 1 and "--pupils must be 0 to 10,000,000" in err, err
    status, err = leerid([*add, "--discovered", "2026-10-25T02:30+01:00", "--pupils", "3"], env)
    assert status == 0, err
    status, err = leerid([*add, "--discovered", "2026-11-28T09:30", "--pupils", "2"], env)
    assert status == 0, err
    engine = make_engine(env["LEERID_DATABASE_URL"])
    try:
        (found,) = [b for b in breaches.list_breaches(engine) if b.breach.pupils_affected == 2]
    finally:
        engine.dispose()
    stored = found.breach.discovered_at
    utc = stored.replace(tzinfo=dt.UTC) if stored.tzinfo is None else stored.astimezone(dt.UTC)
    assert utc == dt.datetime(2026, 11, 28, 8, 30, tzinfo=dt.UTC)  # 09:30 in Brussels (CET)


def test_the_recipients_dpo_address_comes_from_the_protocol(engine: Engine, tmp_path: Path) -> None:
    """Art. 9: the recipient's ``dpo.contact`` in the client's protocol when it is an e-mail
    address, else LEERID_MAIL_OTHER_PARTY_DPO; with neither the e-mail fails, naming both."""
    text = PROTOCOL_FILE.read_text(encoding="utf-8")
    marker = "      advice_date: 2024-02-22            # overweging G\n"
    assert marker in text
    with_contact = tmp_path / "protocol.yaml"
    contact = "      contact: Functionaris <dpo@centrumnetten.example>\n"
    with_contact.write_text(text.replace(marker, marker + contact), encoding="utf-8")
    protocol_id = seeding.store_protocol(engine, with_contact)
    client_id, _ = seeding.register_client(
        engine, protocol_id=protocol_id, redirect_uris=["https://lars.example/cb"]
    )
    (client,) = breaches.concerned_clients(engine, [client_id])
    assert breaches.recipient_dpos(engine, MailSettings(), [client]) == {
        "dpo@centrumnetten.example": [f"{client.name} ({client_id})"]
    }
    with pytest.raises(BreachInputError):
        breaches.concerned_clients(engine, ["onbekend"])
    plain = tmp_path / "plain.yaml"
    plain.write_text(text.replace("dov-lars-glce-2024", "zonder-contact"), encoding="utf-8")
    other_id, _ = seeding.register_client(
        engine,
        protocol_id=seeding.store_protocol(engine, plain),
        redirect_uris=["https://ander.example/cb"],
    )
    (other,) = breaches.concerned_clients(engine, [other_id])
    fallback = MailSettings(other_party_dpo=OTHER_DPO)
    assert breaches.recipient_dpos(engine, fallback, [other, client]) == {
        OTHER_DPO: [f"{other.name} ({other_id})"],
        "dpo@centrumnetten.example": [f"{client.name} ({client_id})"],
    }
    with pytest.raises(MailError, match="LEERID_MAIL_OTHER_PARTY_DPO"):
        breaches.recipient_dpos(engine, MailSettings(), [other])
    _each_dpo_reads_only_its_own_recipient(engine, fallback, client, other)


def _each_dpo_reads_only_its_own_recipient(
    engine: Engine, settings: MailSettings, client: Client, other: Client
) -> None:
    """Art. 9: one e-mail per DPO, naming that DPO's recipient, never the other one told."""
    inbox, port = Inbox(), free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        mail = dataclasses.replace(settings, smtp_port=port)
        number = breaches.add_breach(
            engine,
            mail,
            actor="dpo",
            discovered_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1),
            description="Lijst op een gedeelde schijf",
            categories="naam",
            pupils_affected=3,
            measures="",
            clients=[client.client_id, other.client_id],
        )
        breaches.update_breach(engine, mail, number, actor="dpo", text="Gewist", notify=True)
    finally:
        smtp.stop()
    assert len(inbox.messages) == 4  # the first notice and the update's, to each DPO
    for message in inbox.messages:
        body = message.get_payload(decode=True).decode()
        own, foreign = (client, other) if message["To"] != OTHER_DPO else (other, client)
        assert f"({own.client_id})" in body and f"({foreign.client_id})" not in body


def test_every_duty_page_speaks_dutch(duty_site: DutySite) -> None:
    """Issue 8 point 20 for the console: no code names (attributes, log actions) on a page."""
    from tests.test_page_words import check

    engine = make_engine(duty_site.idp.database_url)
    pupil = duty_site.idp.seed.pupil.leer_id_uuid
    store_report(engine, duty_site.idp.client_id, pupil, "given_name", "verouderd", "Oude naam")
    engine.dispose()
    for who in (OPERATOR, DPO):
        with duty_site.browser(who) as browser:
            for path in EXPECTED:
                answer = browser.http.get(duty_site.url + path)
                if answer.status_code == 200 and not path.endswith(".json"):
                    check(f"console {who} {path}", answer.text)


def test_closing_a_report_and_its_log_entry_are_one_transaction(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Art. 6: a report is never closed without its staff-log entry (and the reverse)."""
    from leerid.idp.store.console import duty_reports

    key = str(uuid.uuid4())
    report = store_report(engine, None, key, "given_name", "foutief", "Typo", source="pupil")

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the log cannot be written")

    monkeypatch.setattr(duty_reports.staff_log, "append", broken)
    with pytest.raises(RuntimeError):
        duty_reports.close(engine, "op", report.code, "Naam verbeterd")
    (still,) = list_reports(engine, None, None)
    assert still.status == "open"  # the failed entry took the close with it
    monkeypatch.undo()
    duty_reports.close(engine, "op", report.code, "Naam verbeterd")
    (closed,) = list_reports(engine, None, None)
    assert closed.status == "gesloten"
    check = verify(engine)
    assert check.ok and check.entries == 1
