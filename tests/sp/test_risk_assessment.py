"""Art. 6: "werd een risico-inschatting gemaakt. Voor elk risico werd een gepaste technische,
organisatorische of juridische maatregel genomen." Recorded on the command line and on the
DPO's page, refused without a measure, logged, and shown as evidence (m-risico)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from leerid.cli.main import app
from leerid.errors import LeeridError
from leerid.sp.kit.evidence import collect
from leerid.sp.kit.models import PrivacyLogEntry
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.risk import add_risk, list_risks
from leerid.sp.kit.settings import load_settings
from leerid.sp.kit.staff import add_staff
from leerid.store.engine import session_scope
from leerid.testing.browser import hidden_fields
from leerid.testing.servers import free_port, serve_portal
from tests.sp.conftest import write_config
from tests.sp.test_lars_flow import PASSWORD, staff_login

RISK = "Een medewerker bekijkt een leerling zonder reden"
MEASURE = "Elke inzage vraagt een doel en staat in het privacylog"


def risk_evidence(provider: ServiceProvider) -> tuple[bool | None, dict[str, str]]:
    item = next(e for e in collect(provider)["items"] if e.measure_id == "m-risico")
    return item.ok, dict(item.facts)


def logged(provider: ServiceProvider) -> list[str]:
    with session_scope(provider.engine) as session:
        return list(
            session.scalars(
                select(PrivacyLogEntry.actor).where(
                    PrivacyLogEntry.action == "risico_geregistreerd"
                )
            )
        )


def test_a_risk_is_recorded_only_with_its_measure(provider: ServiceProvider) -> None:
    ok, facts = risk_evidence(provider)
    assert ok is False and "niet aangetoond" in facts["Risico-inschatting"]
    day = dt.date(2026, 3, 1)
    for measures in ("", "   "):
        try:
            add_risk(provider.engine, risk=RISK, measures=measures, day=day, owner="DPO", actor="x")
        except LeeridError as exc:
            assert "--measures is required" in exc.message and "art. 6" in exc.message
        else:
            raise AssertionError("a risk without a measure was recorded")
    number = add_risk(
        provider.engine, risk=RISK, measures=MEASURE, day=day, owner="DPO", actor="dpo.lars"
    )
    (risk,) = list_risks(provider.engine)
    assert (risk.id, risk.risk, risk.measures, risk.assessed_on) == (number, RISK, MEASURE, day)
    ok, facts = risk_evidence(provider)
    assert ok is True and facts[f"Risico {number} (2026-03-01, DPO)"] == f"{RISK} — {MEASURE}"
    assert logged(provider) == ["dpo.lars"]


def test_the_risk_commands(provider: ServiceProvider) -> None:
    config = str(provider.settings.path)
    run = CliRunner()
    base = ["sp", "risk", "add", "--config", config, "--risk", RISK, "--owner", "DPO"]
    empty = run.invoke(app, ["sp", "risk", "list", "--config", config])
    assert "no risk recorded" in empty.output
    refused = run.invoke(app, [*base, "--measures", "", "--date", "2026-03-01"])
    assert isinstance(refused.exception, LeeridError)
    assert "--measures is required" in refused.exception.message
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    future = run.invoke(app, [*base, "--measures", MEASURE, "--date", tomorrow])
    assert isinstance(future.exception, LeeridError) and "future" in future.exception.message
    bad = run.invoke(app, [*base, "--measures", MEASURE, "--date", "1/3/2026"])
    assert isinstance(bad.exception, LeeridError) and "YYYY-MM-DD" in bad.exception.message
    done = run.invoke(app, [*base, "--measures", MEASURE, "--date", "2026-03-01"])
    assert done.exit_code == 0 and "risk 1 recorded" in done.output
    listed = json.loads(
        run.invoke(app, ["sp", "risk", "list", "--json", "--config", config]).output
    )
    assert listed == [
        {
            "id": 1,
            "risk": RISK,
            "measures": MEASURE,
            "date": "2026-03-01",
            "owner": "DPO",
            "recorded_by": "dpo",
        }
    ]
    assert logged(provider) == ["dpo"]


def test_the_dpo_records_a_risk_on_the_portal(database_url: str, tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path / "sp", database_url, public_url=f"http://127.0.0.1:{port}")
    provider = ServiceProvider(load_settings(config))
    add_staff(provider.engine, provider.protocol, "dpo.lars", PASSWORD, "dpo")
    add_staff(provider.engine, provider.protocol, "clb.een", PASSWORD, "toegangscontrole")
    with serve_portal(provider, port) as url:
        dpo = staff_login(url, "dpo.lars")
        assert 'href="/personeel/bewijs/risico"' in dpo.get(f"{url}/personeel/bewijs").text
        page = dpo.get(f"{url}/personeel/bewijs/risico")
        assert page.status_code == 200 and "niet aangetoond" in page.text
        csrf = hidden_fields(page.text)["csrf"]
        form = {"risico": RISK, "maatregelen": "", "datum": "2026-03-01", "eigenaar": "DPO"}
        target = f"{url}/personeel/bewijs/risico"
        assert dpo.post(target, data=form).status_code == 403  # no CSRF token
        assert dpo.post(target, data={**form, "csrf": csrf}).status_code == 303
        shown = dpo.get(target).text
        assert 'class="notice bad"' in shown and "Vul de maatregel in" in shown
        clb = staff_login(url, "clb.een")
        clb_csrf = hidden_fields(clb.get(f"{url}/personeel").text)["csrf"]
        refused = clb.post(target, data={**form, "maatregelen": MEASURE, "csrf": clb_csrf})
        assert refused.status_code == 403
        saved = dpo.post(target, data={**form, "maatregelen": MEASURE, "csrf": csrf})
        assert saved.status_code == 303
        shown = dpo.get(target).text
        assert "Risico 1 bewaard" in shown and RISK in shown and "01-03-2026" in shown
    assert [r.recorded_by for r in list_risks(provider.engine)] == ["dpo.lars"]
    assert logged(provider) == ["dpo.lars"]
    provider.engine.dispose()
