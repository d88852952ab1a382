"""Art. 7, 9 and 6 at the recipient: DOV's reports applied and answered, notices sent over
HTTP and by e-mail, processor lists asked and given. A real provider and a real SMTP server
on loopback; the kit's handlers fed the event exactly as DOV's change carries it."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from leerid.idp.store.quality_reports import list_reports
from leerid.sp.kit.dov_reports import apply_dov_report, list_dov_reports
from leerid.sp.kit.free_text import InszInFreeTextError
from leerid.sp.kit.models import PrivacyLogEntry
from leerid.sp.kit.notices import (
    apply_notice_ack,
    apply_processor_request,
    dov_processors,
    list_notices,
)
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.relying_party import RelyingParty
from leerid.sp.kit.settings import load_settings
from leerid.store.engine import make_engine, session_scope
from tests.conftest import Leerid
from tests.idp_server import RunningIdp, running_idp
from tests.reports.helpers import changes, log_in
from tests.sp.conftest import write_config
from tests.sp.test_breaches_mail import Inbox

SECRET_ENV = "LARS_TEST_SECRET"
PROCESSORS = """
[dov]
dpo_email = "dpo@dov.example"

[[processors]]
name = "Hoster NV"
purpose = "hosting van LARS"
location = "Brussel, BE"
since = 2024-03-01
"""


def event(**changes: str) -> dict[str, str]:
    return {
        "code": f"DQ-{uuid.uuid4().hex[:6].upper()}",
        "pupil_key": str(uuid.uuid4()),
        "attribute": "family_name",
        "problem": "verouderd",
        "comment": "gewijzigd bij de school",
        "source": "dov",
        "reported_at": dt.datetime.now(dt.UTC).isoformat(),
        **changes,
    }


def test_a_report_from_dov_is_stored_once_with_its_privacy_log(provider: ServiceProvider) -> None:
    sent = event()
    claims = {"jti": uuid.uuid4().hex, "txn": "7"}
    for _ in range(2):  # the same report twice (a re-delivered SET) is one report
        with session_scope(provider.engine) as session:
            apply_dov_report(session, claims, sent)
    (stored,) = list_dov_reports(provider)
    assert (stored.code, stored.pupil_key, stored.answer_status) == (
        sent["code"],
        sent["pupil_key"],
        None,
    )
    with session_scope(provider.engine) as session:
        actions = session.scalars(
            select(PrivacyLogEntry.action).where(PrivacyLogEntry.pupil_key == sent["pupil_key"])
        ).all()
    assert actions == ["melding_gegevenskwaliteit_ontvangen"]
    with pytest.raises(ValueError, match="code"), session_scope(provider.engine) as session:
        apply_dov_report(session, claims, event(code=""))
    with pytest.raises(InszInFreeTextError), session_scope(provider.engine) as session:
        apply_dov_report(session, claims, event(comment="nr 12.03.15-123.45"))
    assert len(list_dov_reports(provider)) == 1  # a refused event is never applied


def test_processor_requests_and_acks_are_applied_once(provider: ServiceProvider) -> None:
    now = dt.datetime.now(dt.UTC).isoformat()
    for _ in range(2):
        with session_scope(provider.engine) as session:
            apply_processor_request(session, {"txn": "41"}, {"requested_at": now})
    notices, requests = list_notices(provider)
    assert notices == [] and len(requests) == 1 and requests[0].answered_by is None
    with session_scope(provider.engine) as session:  # a notice this kit never sent
        apply_notice_ack(session, {"txn": "42"}, {"notice_id": "999", "acknowledged_at": now})


@pytest.fixture
def world(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp: tuple[Inbox, int]
) -> Iterator[tuple[RunningIdp, Path, Inbox]]:
    """DOV (publishing its processor list) and LARS's kit configuration (client_secret_basic)."""
    dov_list = tmp_path / "dov-processors.toml"
    dov_list.write_text(
        '[[processors]]\nname = "Digitaal Vlaanderen"\npurpose = "ACM/IDM"\n'
        'location = "Brussel, BE"\nsince = 2022-01-01\n',
        encoding="utf-8",
    )
    inbox, port = smtp
    with running_idp(
        database_url,
        more_env={"LEERID_DOV_PROCESSORS_FILE": str(dov_list)},
    ) as idp:
        monkeypatch.setenv(SECRET_ENV, idp.client_secret)
        config = write_config(
            tmp_path / "lars",
            f"sqlite:///{tmp_path / 'lars.db'}",
            issuer=idp.issuer,
            client_id=idp.client_id,
            smtp_port=port,
            auth=f'auth_method = "client_secret_basic"\nclient_secret_env = "{SECRET_ENV}"',
        )
        config.write_text(config.read_text(encoding="utf-8") + PROCESSORS, encoding="utf-8")
        yield idp, config, inbox


def test_dov_report_reaches_lars_and_its_answer_reaches_dov(
    world: tuple[RunningIdp, Path, Inbox], leerid: Leerid
) -> None:
    idp, config, _inbox = world
    env = {"LEERID_DATABASE_URL": idp.database_url, SECRET_ENV: idp.client_secret}
    log_in(idp.issuer, idp.client_id, idp.client_secret, idp.username, idp.password)
    pupil = idp.pupil.leer_id_uuid
    code, err = leerid(
        [
            "reports",
            "add",
            "--to",
            idp.client_id,
            "--pupil",
            pupil,
            "--attribute",
            "given_name",
            "--problem",
            "foutief",
            "--operator",
            "An",
        ],
        env,
    )
    assert code == 0, err
    change = changes(idp.database_url, "quality-report")[-1]
    lars = ServiceProvider(load_settings(config), create=True)
    with session_scope(lars.engine) as session:  # as the follower applies the SET
        apply_dov_report(
            session, {"jti": uuid.uuid4().hex, "txn": change["txn"]}, change["payload"]
        )
    report = change["payload"]["code"]
    args = ["sp", "reports", "answer", report, "--config", str(config), "--text", "Klopt nu"]
    code, err = leerid([*args, "--status", "klaar"], env)
    assert code == 1 and "in-behandeling, opgelost, afgewezen" in err
    code, err = leerid([*args[:-2], "--text", " ", "--status", "opgelost"], env)
    assert code == 1 and "--text is required" in err
    code, err = leerid(
        [
            "sp",
            "reports",
            "answer",
            "DQ-NOPE00",
            "--config",
            str(config),
            "--status",
            "opgelost",
            "--text",
            "x",
        ],
        env,
    )
    assert code == 1 and "no report 'DQ-NOPE00'" in err
    code, err = leerid([*args, "--status", "opgelost"], env)
    assert code == 0, err
    (kept,) = list_dov_reports(lars)
    assert kept.answer_status == "opgelost"
    engine = make_engine(idp.database_url)
    (at_dov,) = [r for r in list_reports(engine, source="dov") if r.code == report]
    engine.dispose()
    assert (at_dov.answer_status, at_dov.answer_text) == ("opgelost", "Klopt nu")
    lars.engine.dispose()


def test_notices_go_to_dov_and_its_dpo_and_processor_lists_are_exchanged(
    world: tuple[RunningIdp, Path, Inbox], leerid: Leerid
) -> None:
    idp, config, inbox = world
    env = {"LEERID_DATABASE_URL": idp.database_url, SECRET_ENV: idp.client_secret}
    send = ["sp", "notices", "send", "--config", str(config)]
    for wrong, words in (
        (["--kind", "weer", "--text", "x"], "--kind 'weer'"),
        (["--kind", "wetgeving", "--text", " "], "--text is required"),
        (["--kind", "wetgeving", "--text", "nr 12031512345"], "national register number"),
    ):
        code, err = leerid([*send, *wrong], env)
        assert code == 1 and words in err, err
    code, err = leerid([*send, "--kind", "wetgeving", "--text", "Nieuw decreet vanaf 1/9"], env)
    assert code == 0, err
    assert inbox.messages[-1]["To"] == "dpo@dov.example"
    assert "Nieuw decreet" in inbox.messages[-1].get_payload()

    code, err = leerid(
        ["notices", "request-processors", "--client", idp.client_id, "--operator", "An"], env
    )
    assert code == 0, err
    asked = changes(idp.database_url, "processor-list-requested")[-1]
    lars = ServiceProvider(load_settings(config), create=True)
    with session_scope(lars.engine) as session:
        apply_processor_request(session, {"txn": asked["txn"]}, asked["payload"])
    _notices, requests = list_notices(lars)
    assert [r.answered_by for r in requests] == [None]  # pending at LARS
    code, err = leerid([*send, "--kind", "verwerkers", "--text", "Nieuwe hoster"], env)
    assert code == 0 and "answers 1 request" in err + "answers 1 request", err
    notices, requests = list_notices(lars)
    verwerkers = notices[0]
    assert requests[0].answered_by == verwerkers.id
    assert json.loads(verwerkers.processors or "[]")[0]["name"] == "Hoster NV"
    assert "Hoster NV: hosting van LARS" in inbox.messages[-1].get_payload()

    code, err = leerid(["notices", "ack", str(verwerkers.remote_id), "--operator", "An"], env)
    assert code == 0, err
    acked = changes(idp.database_url, "notice-acknowledged")[-1]
    with session_scope(lars.engine) as session:
        apply_notice_ack(session, {"txn": acked["txn"]}, acked["payload"])
    assert list_notices(lars)[0][0].acknowledged_at is not None

    code, err = leerid(["sp", "notices", "dov-processors", "--config", str(config), "--json"], env)
    assert code == 0, err
    listed = asyncio.run(_dov_list(lars))
    assert listed == [
        {
            "name": "Digitaal Vlaanderen",
            "purpose": "ACM/IDM",
            "location": "Brussel, BE",
            "since": "2022-01-01",
        }
    ]
    lars.engine.dispose()


async def _dov_list(lars: ServiceProvider) -> list[dict[str, str]]:
    rp = RelyingParty(lars.settings)
    try:
        return await dov_processors(rp)
    finally:
        await rp.aclose()
