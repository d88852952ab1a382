"""Issue 8 point 22: training and confidentiality dates can be set after ``staff add``.

Art. 6 evidence (m-sensibilisering, m-vertrouwelijkheid) was "NIET in orde" for every
account created without the dates, with no way to add them. ``leerid sp staff update``
and the staff management page ``/personeel/medewerkers`` (formerly ``/personeel/opleiding``)
set them; each change is privacy-logged.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from click.testing import Result
from sqlalchemy import select
from typer.testing import CliRunner

from leerid.cli.main import app
from leerid.errors import LeeridError
from leerid.sp.kit.evidence import collect
from leerid.sp.kit.models import PrivacyLogEntry
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.settings import load_settings
from leerid.sp.kit.staff import add_staff, list_staff
from leerid.store.engine import session_scope
from leerid.testing.browser import hidden_fields
from leerid.testing.servers import free_port, serve_portal
from tests.sp.conftest import write_config
from tests.sp.test_lars_flow import PASSWORD, staff_login


def refusal(result: Result) -> str:
    """The message ``leerid`` prints for a refused command (main() turns it into exit 1)."""
    assert isinstance(result.exception, LeeridError), result.output
    return result.exception.message


def verdicts(provider: ServiceProvider) -> dict[str, bool | None]:
    return {e.measure_id: e.ok for e in collect(provider)["items"]}


def logged_updates(provider: ServiceProvider) -> list[str]:
    with session_scope(provider.engine) as session:
        return list(
            session.scalars(
                select(PrivacyLogEntry.actor).where(
                    PrivacyLogEntry.action == "personeel_bijgewerkt"
                )
            )
        )


def test_staff_update_on_the_command_line(database_url: str, tmp_path: Path) -> None:
    config = write_config(tmp_path / "sp", database_url)
    provider = ServiceProvider(load_settings(config))
    add_staff(provider.engine, provider.protocol, "clb.een", PASSWORD, "toegangscontrole")
    assert verdicts(provider)["m-vertrouwelijkheid"] is False
    assert verdicts(provider)["m-sensibilisering"] is False
    run = CliRunner()
    base = ["sp", "staff", "update", "clb.een", "--config", str(config)]
    done = run.invoke(
        app,
        [*base, "--confidentiality-signed", "2026-01-05", "--awareness-trained", "2026-01-06"],
    )
    assert done.exit_code == 0, done.output
    assert "clb.een updated" in done.output
    assert verdicts(provider)["m-vertrouwelijkheid"] is True
    assert verdicts(provider)["m-sensibilisering"] is True
    assert logged_updates(provider) == ["dpo"]

    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    future = run.invoke(app, [*base, "--awareness-trained", tomorrow])
    assert "future" in refusal(future)
    bad = run.invoke(app, [*base, "--awareness-trained", "5/1/2026"])
    assert "YYYY-MM-DD" in refusal(bad)
    nothing = run.invoke(app, [*base])
    assert "--awareness-trained" in refusal(nothing)
    unknown = run.invoke(
        app,
        [
            "sp",
            "staff",
            "update",
            "niemand",
            "--config",
            str(config),
            "--awareness-trained",
            "2026-01-06",
        ],
    )
    assert "no staff account" in refusal(unknown)
    (account,) = list_staff(provider.engine)
    assert account.awareness_trained_on == dt.date(2026, 1, 6)  # the refusals changed nothing
    provider.engine.dispose()


def test_the_dpo_sets_the_dates_on_the_portal(database_url: str, tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path / "sp", database_url, public_url=f"http://127.0.0.1:{port}")
    provider = ServiceProvider(load_settings(config))
    add_staff(provider.engine, provider.protocol, "clb.een", PASSWORD, "toegangscontrole")
    add_staff(provider.engine, provider.protocol, "dpo.lars", PASSWORD, "dpo")
    with serve_portal(provider, port) as url:
        dpo = staff_login(url, "dpo.lars")
        evidence = dpo.get(f"{url}/personeel/bewijs").text
        assert 'href="/personeel/medewerkers"' in evidence
        moved = dpo.get(f"{url}/personeel/opleiding", follow_redirects=False)
        assert moved.status_code == 308 and moved.headers["location"] == "/personeel/medewerkers"
        page = dpo.get(f"{url}/personeel/medewerkers")
        assert page.status_code == 200 and "clb.een" in page.text
        target = f"{url}/personeel/medewerkers/bijwerken"
        form = {
            "gebruiker": "clb.een",
            "functie": "rol:toegangscontrole",
            "vertrouwelijkheid": "2026-01-05",
            "sensibilisering": "2026-01-06",
        }
        # CSRF: a form without this session's token changes nothing
        assert dpo.post(target, data=form).status_code == 403
        # Art. 4: a role without the DPO's rights may not set them
        clb = staff_login(url, "clb.een")
        clb_csrf = hidden_fields(clb.get(f"{url}/personeel").text)["csrf"]
        refused = clb.post(target, data={**form, "csrf": clb_csrf})
        assert refused.status_code == 403
        assert verdicts(provider)["m-sensibilisering"] is False and not logged_updates(provider)

        csrf = hidden_fields(page.text)["csrf"]
        saved = dpo.post(target, data={**form, "csrf": csrf})
        assert saved.status_code == 303
        assert "Medewerker clb.een bijgewerkt" in dpo.get(f"{url}/personeel/medewerkers").text
        tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
        future = dpo.post(target, data={**form, "sensibilisering": tomorrow, "csrf": csrf})
        assert future.status_code == 303
        shown = dpo.get(f"{url}/personeel/medewerkers").text
        assert 'class="notice bad"' in shown and "niet in de toekomst" in shown
    by_account = {s.username: s for s in list_staff(provider.engine)}
    assert by_account["clb.een"].confidentiality_signed_on == dt.date(2026, 1, 5)
    assert by_account["clb.een"].awareness_trained_on == dt.date(2026, 1, 6)
    # the DPO's own account has no dates yet, so the measures are not yet all in order
    assert logged_updates(provider) == ["dpo.lars"]
    provider.engine.dispose()
