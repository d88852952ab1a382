"""Art. 7 both ways and art. 9/6 notices at the Department: commands, endpoints, refusals.

A real provider on loopback (SQLite and PostgreSQL); its pupil logged in once through its
client, so the disclosure log says that client received the pupil's data (art. 4).
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import Leerid
from tests.reports.conftest import Dov
from tests.reports.helpers import changes

INSZ_TEXT = "zijn nummer is 12.03.15-123.45"


def env(dov: Dov) -> dict[str, str]:
    return {"LEERID_DATABASE_URL": dov.idp.database_url}


def add(leerid: Leerid, dov: Dov, *extra: str, to: str | None = None) -> tuple[int, str]:
    pupil = dov.idp.pupil.leer_id_uuid
    args = ["reports", "add", "--to", to or dov.idp.client_id, "--pupil", pupil]
    defaults = {"--attribute": "family_name", "--problem": "verouderd", "--operator": "An"}
    for name, value in defaults.items():
        if name not in extra:
            args += [name, value]
    return leerid([*args, *extra], env(dov))


def reports_json(leerid: Leerid, dov: Dov, capsys: pytest.CaptureFixture[str]) -> list[dict]:
    from typer.testing import CliRunner

    from leerid.cli.main import app

    result = CliRunner().invoke(app, ["reports", "list", "--json"], env=env(dov))
    assert result.exit_code == 0, result.output
    return list(json.loads(result.output))


def test_dov_reports_to_a_client_that_received_the_data(
    dov: Dov, leerid: Leerid, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = add(leerid, dov, "--comment", "Achternaam gewijzigd bij de school")
    assert code == 0, err
    (change,) = [
        c
        for c in changes(dov.idp.database_url, "quality-report")
        if c["payload"]["comment"].startswith("Achternaam")
    ]
    assert change["client_id"] == dov.idp.client_id  # art. 7: to that client only
    assert change["leer_id_uuid"] == dov.idp.pupil.leer_id_uuid
    payload = change["payload"]
    assert payload["source"] == "dov" and payload["attribute"] == "family_name"
    assert payload["pupil_key"] == dov.idp.pupil.leer_id_uuid
    assert set(payload) == {
        "code",
        "pupil_key",
        "attribute",
        "problem",
        "comment",
        "source",
        "reported_at",
    }
    flat = json.dumps(change)
    assert dov.idp.pupil.naam not in flat and dov.idp.pupil.insz not in flat  # no name, no INSZ
    listed = {r["id"]: r for r in reports_json(leerid, dov, capsys)}
    mine = listed[payload["code"]]
    assert mine["source"] == "dov" and mine["client_id"] == dov.idp.client_id


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (("--comment", INSZ_TEXT), "national register number"),
        (("--attribute", "shoe_size"), "attribute must be one of"),
        (("--problem", "raar"), "problem must be one of"),
        (("--operator", " "), "--operator is required"),
    ],
)
def test_a_bad_dov_report_is_refused_with_the_reason(
    dov: Dov, leerid: Leerid, extra: tuple[str, ...], words: str
) -> None:
    before = len(changes(dov.idp.database_url, "quality-report"))
    code, err = add(leerid, dov, *extra)
    assert code == 1 and words in err and "Traceback" not in err
    assert len(changes(dov.idp.database_url, "quality-report")) == before


def test_art4_no_report_to_a_client_that_never_got_the_data(dov: Dov, leerid: Leerid) -> None:
    code, err = add(leerid, dov, to=dov.other_id)
    assert code == 1 and "never received data of pupil" in err
    code, err = add(leerid, dov, to="nobody")
    assert code == 1 and "no client 'nobody'" in err
    code, err = add(leerid, dov, "--attribute", "rrn")
    assert code == 1 and "never received rrn" in err  # art. 3: LARS has no decretal basis


def _answer(
    dov: Dov, data: dict[str, str], client: tuple[str, str] | None = None
) -> httpx.Response:
    auth = client or (dov.idp.client_id, dov.idp.client_secret)
    return httpx.post(f"{dov.idp.issuer}/v1/quality-reports/answers", data=data, auth=auth)


def test_the_recipient_answers_a_report_it_was_sent(
    dov: Dov, leerid: Leerid, capsys: pytest.CaptureFixture[str]
) -> None:
    assert add(leerid, dov, "--comment", "te beantwoorden")[0] == 0
    report = changes(dov.idp.database_url, "quality-report")[-1]["payload"]["code"]
    good = {"code": report, "status": "opgelost", "text": "Aangepast in ons dossier"}
    assert httpx.post(f"{dov.idp.issuer}/v1/quality-reports/answers", data=good).status_code == 401
    other = _answer(dov, good, (dov.other_id, dov.other_secret))  # only the addressed client
    assert other.status_code == 404 and other.json()["error"] == "not_found"
    unknown = _answer(dov, {**good, "code": "DQ-0000000"})
    assert unknown.status_code == 404, unknown.text
    bad = _answer(dov, {**good, "status": "klaar"})
    assert bad.status_code == 400
    assert "in-behandeling, opgelost, afgewezen" in bad.json()["error_description"]
    assert _answer(dov, {**good, "text": "  "}).status_code == 400
    assert _answer(dov, {**good, "text": INSZ_TEXT}).status_code == 400
    done = _answer(dov, {**good, "code": report[3:].lower()})  # typed as a person types it
    assert done.status_code == 200, done.text
    assert done.json()["answer"] == "opgelost"
    listed = {r["id"]: r for r in reports_json(leerid, dov, capsys)}
    assert listed[report]["answer"]["status"] == "opgelost"
    assert listed[report]["answer"]["by"] == dov.idp.client_id


def _notice(dov: Dov, data: dict[str, str], auth: tuple[str, str] | None = None) -> httpx.Response:
    return httpx.post(
        f"{dov.idp.issuer}/v1/notices",
        data=data,
        auth=auth or (dov.idp.client_id, dov.idp.client_secret),
    )


PROCESSORS = [{"name": "Hoster NV", "purpose": "hosting", "location": "BE", "since": "2024-03-01"}]


def test_notices_are_received_listed_and_acknowledged(
    dov: Dov, leerid: Leerid, capsys: pytest.CaptureFixture[str]
) -> None:
    from typer.testing import CliRunner

    from leerid.cli.main import app

    def notices(*args: str) -> dict:
        result = CliRunner().invoke(app, ["notices", "list", "--json", *args], env=env(dov))
        assert result.exit_code == 0, result.output
        return dict(json.loads(result.output))

    law = {"kind": "wetgeving", "text": "Nieuw decreet\nvanaf 1 september"}
    assert httpx.post(f"{dov.idp.issuer}/v1/notices", data=law).status_code == 401
    for wrong, words in (
        ({"kind": "weer"}, "kind must be one of"),
        ({"text": " "}, "text is required"),
        ({"text": INSZ_TEXT}, "national register number"),
        ({"kind": "verwerkers"}, "processor list"),
        ({"processors": json.dumps(PROCESSORS)}, "only a verwerkers notice"),
        ({"kind": "verwerkers", "processors": "[{]"}, "JSON list"),
        ({"kind": "verwerkers", "processors": '[{"name": "X"}]'}, "purpose is required"),
    ):
        refused = _notice(dov, {**law, **wrong})
        assert refused.status_code == 400 and words in refused.json()["error_description"]
    sent = _notice(dov, law)
    assert sent.status_code == 201, sent.text
    law_id = sent.json()["id"]
    assert law_id in {n["id"] for n in notices("--pending")["notices"]}

    code, err = leerid(
        ["notices", "request-processors", "--client", dov.idp.client_id, "--operator", "An"],
        env(dov),
    )
    assert code == 0, err
    (asked,) = changes(dov.idp.database_url, "processor-list-requested")[-1:]
    assert asked["client_id"] == dov.idp.client_id and set(asked["payload"]) == {"requested_at"}
    assert [
        r for r in notices("--pending")["processor_requests"] if r["client_id"] == dov.idp.client_id
    ]
    answer = _notice(
        dov, {"kind": "verwerkers", "text": "Nieuwe hoster", "processors": json.dumps(PROCESSORS)}
    )
    assert answer.status_code == 201 and answer.json()["answered_requests"] >= 1
    assert not notices("--pending")["processor_requests"]

    code, err = leerid(["notices", "ack", law_id, "--operator", "An"], env(dov))
    assert code == 0, err
    acked = changes(dov.idp.database_url, "notice-acknowledged")[-1]
    assert acked["client_id"] == dov.idp.client_id and acked["payload"]["notice_id"] == law_id
    assert law_id not in {n["id"] for n in notices("--pending")["notices"]}
    code, err = leerid(["notices", "ack", law_id, "--operator", "An"], env(dov))
    assert code == 1 and "acknowledged already" in err
    code, err = leerid(["notices", "ack", "99999", "--operator", "An"], env(dov))
    assert code == 1 and "no notice" in err
    code, err = leerid(
        ["notices", "request-processors", "--client", "x", "--operator", "A"], env(dov)
    )
    assert code == 1 and "no client 'x'" in err


def test_dov_processors_unpublished_is_a_clear_404(dov: Dov) -> None:
    answer = httpx.post(
        f"{dov.idp.issuer}/v1/notices/processors", auth=(dov.idp.client_id, dov.idp.client_secret)
    )
    assert answer.status_code == 404 and "LEERID_DOV_PROCESSORS_FILE" in answer.text
    assert httpx.post(f"{dov.idp.issuer}/v1/notices/processors").status_code == 401
