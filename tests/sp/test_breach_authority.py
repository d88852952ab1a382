"""Art. 9, GDPR art. 33: LARS's breach form records the supervisory authority's notification
(reference, when) or why it was not needed, and shows both clocks of every breach."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import httpx

from leerid.duties.breach_clock import BRUSSELS
from leerid.sp.kit.breaches import add_breach, list_breaches
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.settings import load_settings
from leerid.sp.kit.staff import add_staff
from leerid.testing.browser import hidden_fields
from leerid.testing.protocol_confirmation import confirm_local_protocol
from leerid.testing.servers import free_port, serve_portal
from tests.conftest import Leerid
from tests.sp.conftest import write_config
from tests.sp.test_breaches_mail import Inbox, smtp  # noqa: F401 (a fixture)
from tests.sp.test_lars_flow import PASSWORD, staff_login

PAGE = "/personeel/datalekken"


def _post(dpo: httpx.Client, url: str, number: int, **fields: str) -> httpx.Response:
    csrf = hidden_fields(dpo.get(url + PAGE).text)["csrf"]
    data = {"tekst": "", "status": "open", "referentie": "", "reden": "", **fields}
    return dpo.post(f"{url}{PAGE}/{number}", data={**data, "csrf": csrf})


def test_the_form_records_the_authority_and_shows_both_clocks(
    database_url: str,
    tmp_path: Path,
    smtp: tuple[Inbox, int],  # noqa: F811 (the fixture)
) -> None:
    inbox, smtp_port = smtp
    port = free_port()
    config = write_config(
        tmp_path / "sp", database_url, public_url=f"http://127.0.0.1:{port}", smtp_port=smtp_port
    )
    provider = ServiceProvider(load_settings(config))
    confirm_local_protocol(provider)
    add_staff(provider.engine, provider.protocol, "dpo", PASSWORD, "dpo")
    found = dt.datetime.now(dt.UTC) - dt.timedelta(hours=80)
    common = {"actor": "dpo", "categories": "naam", "pupils_affected": 3, "measures": "Gewist"}
    late = add_breach(
        provider.engine, provider.settings.mail, discovered_at=found, description="Oud", **common
    )
    fresh = add_breach(
        provider.engine,
        provider.settings.mail,
        discovered_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=2),
        description="Nieuw",
        notify=False,
        **common,
    )
    with serve_portal(provider, port) as url:
        dpo = staff_login(url, "dpo")
        page = dpo.get(url + PAGE).text
        assert "<strong>te laat</strong>, nog niet gemeld" in page  # breach 1: 80 h ago
        assert "nog 70" in page and "<strong>nog niet ingelicht</strong>" in page  # breach 2
        assert "Belgische tijd" in page

        for fields, says in [
            ({"referentie": "GBA-1", "reden": "laag risico"}, "Kies één"),
            ({"gemeld_op": "2026-11-01T10:00"}, "referentie"),
            ({"referentie": "GBA-1", "gemeld_op": "gisteren"}, "datum en uur"),
            ({"reden": "   "}, None),  # empty after trimming: nothing changes
        ]:
            answer = _post(dpo, url, late, **fields)
            if says is None:
                assert answer.status_code == 303
            else:
                assert answer.status_code == 400 and says in answer.text, answer.text
                assert "Traceback" not in answer.text
        assert _post(dpo, url, 999999, referentie="GBA-1").status_code == 404

        told = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        local = told.astimezone(BRUSSELS)  # the form asks for Belgian time
        answer = _post(
            dpo, url, late, referentie="GBA-2026-9", gemeld_op=local.strftime("%Y-%m-%dT%H:%M")
        )
        assert answer.status_code == 303
        assert _post(dpo, url, fresh, reden="Versleutelde schijf").status_code == 303
        page = dpo.get(url + PAGE).text
        assert "referentie GBA-2026-9 (na de termijn" in page
        assert "niet gemeld: Versleutelde schijf" in page
    by_id = {v.breach.id: v for v in list_breaches(provider.engine)}
    assert by_id[late].breach.authority_reference == "GBA-2026-9"
    assert by_id[late].clocks.authority_late
    assert by_id[fresh].clocks.authority_state == "niet gemeld"
    assert by_id[fresh].clocks.other_party_told_at is not None  # the form always tells
    assert "referentie GBA-2026-9" in inbox.messages[-2].get_payload()
    provider.engine.dispose()


def test_the_cli_records_the_authority_or_why_not(
    database_url: str, tmp_path: Path, leerid: Leerid
) -> None:
    """``leerid sp breaches update --authority-reference REF | --authority-not-needed WHY``."""
    config = write_config(tmp_path / "sp", database_url)
    env = {"LEERID_SP_CONFIG": str(config), "COLUMNS": "250"}
    add = ["sp", "breaches", "add", "--discovered", "2026-11-01T08:00", "--description", "Lek"]
    add += ["--categories", "naam", "--pupils", "1", "--measures", "Gewist", "--no-notify"]
    for _ in range(2):
        assert leerid(add, env)[0] == 0
    update = ["sp", "breaches", "update"]
    status, err = leerid([*update, "1", "--authority-reference", "GBA-5"], env)
    assert status == 0, err
    status, err = leerid([*update, "2", "--authority-not-needed", "Versleuteld"], env)
    assert status == 0, err
    status, err = leerid([*update, "1", "--authority-not-needed", "toch niet"], env)
    assert status == 1 and "reported to the authority already" in err
    status, err = leerid(
        [*update, "2", "--authority-reference", "A", "--authority-not-needed", "B"], env
    )
    assert status == 1 and "not both" in err
    provider = ServiceProvider(load_settings(config))
    by_id = {v.breach.id: v for v in list_breaches(provider.engine)}
    provider.engine.dispose()
    assert by_id[1].breach.authority_reference == "GBA-5"
    assert by_id[1].clocks.authority_late  # discovered 1 November, reported now: after 72 h
    assert by_id[2].clocks.authority_state == "niet gemeld"
