"""Art. 4: the DPO is no recipient of the disclosed data, so the DPO reads pseudonyms.

The privacy log's page, ``leerid sp log show`` and the evidence never show a pupil key in
clear; for a pupil's access request (GDPR art. 15) the DPO enters the key and learns who
looked at the file, when and in which function, and that lookup is logged itself.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from typer.testing import CliRunner

from leerid.cli.main import app
from leerid.errors import LeeridError
from leerid.insz_text import looks_like_insz
from leerid.sp.kit import privacy_log
from leerid.sp.kit.dpo_log import mask, pupil_key
from leerid.sp.kit.keys import ProviderSecrets
from leerid.sp.kit.last_login import record_login
from leerid.sp.kit.login_claims import LoginAttributes
from leerid.sp.kit.models import DovReport, PrivacyLogEntry, PupilRecord, QualityReport
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.retention import purge
from leerid.sp.kit.settings import load_settings
from leerid.sp.kit.staff import add_staff
from leerid.store.engine import session_scope
from leerid.testing.browser import hidden_fields
from leerid.testing.protocol_confirmation import confirm_local_protocol
from leerid.testing.servers import free_port, serve_portal
from tests.sp.conftest import PARTNER, write_config
from tests.sp.test_lars_flow import PASSWORD, staff_login

NOW = dt.datetime.now(dt.UTC)
DAY = dt.date(2026, 1, 5)
GIVEN: set[str] = set()
SECRETS = ProviderSecrets(session_key=b"k" * 32, signing_key=None, witness_key=None)  # type: ignore[arg-type]


def attributes(key: str, *, temporary: bool = False, historiek: tuple[str, ...] = ()) -> Any:
    return LoginAttributes(
        account_uuid=key if temporary else str(uuid.uuid4()),
        leer_id_uuid=None if temporary else key,
        historiek_account_uuids=historiek,
        given_name="Zoë",
        family_name="Peeters",
        orgcodes=(PARTNER,),
    )


def _key() -> str:
    """A random key that does not, by chance, hold a digit run shaped like an INSZ (a purpose
    below quotes one, and art. 3 refuses INSZ-like text)."""
    while looks_like_insz(key := str(uuid.uuid4())):
        pass
    return key


def counsellor_and_dpo(provider: ServiceProvider) -> None:
    """A counsellor of the partner school and the DPO, both bound and trained (art. 6)."""
    for name, role in (("clb.een", "toegangscontrole"), ("dpo.lars", "dpo")):
        add_staff(
            provider.engine,
            provider.protocol,
            name,
            PASSWORD,
            role,
            confidentiality_signed_on=DAY,
            awareness_trained_on=DAY,
            schools=(PARTNER,),  # art. 4: the pupils of the schools this person serves
        )


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[tuple[ServiceProvider, str]]:
    """A provider with staff acts on two pupils, an identification and a purge, served."""
    GIVEN.clear()
    port = free_port()
    config = write_config(tmp_path / "sp", database_url, public_url=f"http://127.0.0.1:{port}")
    provider = ServiceProvider(load_settings(config))
    confirm_local_protocol(provider)
    counsellor_and_dpo(provider)
    looked, temporary, other, old = (_key() for _ in range(4))
    GIVEN.update((looked, temporary, other, old))
    with session_scope(provider.engine) as session:
        record_login(session, attributes(temporary, temporary=True), NOW)
        record_login(session, attributes(looked, historiek=(temporary,)), NOW)
        record_login(session, attributes(other), NOW)
        record_login(session, attributes(old), NOW - dt.timedelta(days=4 * 366))
    provider.view_pupil("clb.een", "toegangscontrole", looked, f"vraag over {other}")
    provider.add_dossier_entry("clb.een", "toegangscontrole", looked, "Gesprek")
    provider.view_pupil("clb.een", "toegangscontrole", other, "vraag van de school")
    reports_about(provider, (looked, old))  # art. 7, both ways; the one on ``old`` detached
    purge(provider.engine, provider.retention_period)
    with serve_portal(provider, port) as url:
        yield provider, url
    provider.engine.dispose()


def reports_about(provider: ServiceProvider, keys: tuple[str, ...]) -> None:
    """A report LARS sent DOV and one DOV sent LARS (art. 7) about each of ``keys``."""
    with session_scope(provider.engine) as session:
        for n, key in enumerate(keys):
            session.add(
                QualityReport(
                    remote_id=f"DQ-TEST{n}",
                    pupil_key=key,
                    attribute="family_name",
                    problem="foutief",
                    comment="de naam",
                    status="ontvangen",
                    created_by="clb.een",
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
            session.add(
                DovReport(
                    code=f"DQ-DOV{n}",
                    pupil_key=key,
                    attribute="given_name",
                    problem="foutief",
                    comment="de voornaam",
                    source="dov",
                    reported_at=NOW,
                    received_at=NOW,
                )
            )


def stored_keys(provider: ServiceProvider) -> set[str]:
    """Every pupil key the provider holds or held: records, accounts, the log's key column,
    and every key the world gave (also the temporary and the purged one)."""
    with session_scope(provider.engine) as session:
        keys = set(GIVEN) | set(session.scalars(select(PupilRecord.pupil_key)))
        keys |= set(session.scalars(select(PupilRecord.account_uuid)))
        keys |= {k for k in session.scalars(select(PrivacyLogEntry.pupil_key)) if k}
        for detail in session.scalars(select(PrivacyLogEntry.purpose)):
            keys |= set(re.findall(r"[0-9a-f]{8}-[0-9a-f-]{27}", detail))
    assert len(keys) >= 6
    return keys


def pupil_of(provider: ServiceProvider, purpose: str) -> str:
    with session_scope(provider.engine) as session:
        return str(
            session.scalars(
                select(PrivacyLogEntry.pupil_key).where(PrivacyLogEntry.purpose == purpose)
            ).one()
        )


def test_the_dpo_pages_show_no_pupil_key(world: tuple[ServiceProvider, str]) -> None:
    provider, url = world
    dpo = staff_login(url, "dpo.lars")
    keys = stored_keys(provider)
    pages = {
        path: dpo.get(f"{url}{path}")
        for path in (
            "/personeel/privacylog",
            "/personeel/bewijs",
            "/personeel/bewijs/risico",
            "/personeel/privacylog/inzage",
            "/personeel/meldingen",
        )
    }
    for path, page in pages.items():
        assert page.status_code == 200, path
        for key in keys:
            assert key not in page.text and key.upper() not in page.text, (path, key)
    looked = pupil_of(provider, "LARS: activiteit geregistreerd")
    name = privacy_log.pseudonym(provider.secrets, looked)
    # one pupil, one pseudonym: the identification, the view and the dossier entry
    log = pages["/personeel/privacylog"].text
    assert log.count(f'data-copy="{name}"') == 3  # and the "wie bekeek" button on each line
    assert log.count(f'<input type="hidden" name="pseudoniem" value="{name}">') == 3
    assert "vraag over psn-" in pages["/personeel/privacylog"].text  # a key in a purpose, too
    reports = pages["/personeel/meldingen"].text  # the report on the purged pupil: detached
    assert f'value="{name}"' in reports and "verwijderd (art. 3)" in reports


def test_the_dpo_looks_up_who_looked_at_a_pupil_on_the_web(
    world: tuple[ServiceProvider, str],
) -> None:
    provider, url = world
    dpo = staff_login(url, "dpo.lars")
    looked = pupil_of(provider, "LARS: activiteit geregistreerd")
    form = dpo.get(f"{url}/personeel/privacylog/inzage")
    csrf = hidden_fields(form.text)["csrf"]
    assert (
        dpo.post(f"{url}/personeel/privacylog/inzage", data={"sleutel": looked}).status_code == 403
    )
    found = dpo.post(
        f"{url}/personeel/privacylog/inzage", data={"sleutel": looked.upper(), "csrf": csrf}
    )
    assert found.status_code == 200
    role = next(r.label for r in provider.protocol.roles if r.id == "toegangscontrole")
    assert found.text.count("clb.een") == 2 and found.text.count(role) >= 2
    assert "bekeek het dossier" in found.text and "voegde een activiteit toe" in found.text
    assert "Belgische tijd" in found.text and looked not in found.text
    assert privacy_log.pseudonym(provider.secrets, looked) in found.text
    bad = dpo.post(f"{url}/personeel/privacylog/inzage", data={"sleutel": "Jan", "csrf": csrf})
    assert bad.status_code == 400 and "geen leerlingensleutel of accountnummer" in bad.text
    # staff without the DPO's role may not look it up
    clb = staff_login(url, "clb.een")
    clb_csrf = hidden_fields(clb.get(f"{url}/personeel").text)["csrf"]
    refused = clb.post(
        f"{url}/personeel/privacylog/inzage", data={"sleutel": looked, "csrf": clb_csrf}
    )
    assert refused.status_code == 403
    lookups = logged_lookups(provider)
    assert lookups == [("dpo.lars", privacy_log.pseudonym(provider.secrets, looked), 2)]


def logged_lookups(provider: ServiceProvider) -> list[tuple[str, str, int]]:
    with session_scope(provider.engine) as session:
        rows = session.execute(
            select(PrivacyLogEntry.actor, PrivacyLogEntry.detail, PrivacyLogEntry.pupil_key)
            .where(PrivacyLogEntry.action == "inzage_dpo")
            .order_by(PrivacyLogEntry.seq)
        ).all()
    assert all(key is None for _, _, key in rows)  # logged with the pseudonym, not the key
    return [(a, json.loads(d)["pseudoniem"], json.loads(d)["aantal"]) for a, d, _ in rows]


def test_the_log_commands_show_no_pupil_key(world: tuple[ServiceProvider, str]) -> None:
    provider, _url = world
    config = str(provider.settings.path)
    run = CliRunner()
    keys = stored_keys(provider)
    for args in (["--json"], []):
        shown = run.invoke(app, ["sp", "log", "show", "--limit", "100", "--config", config, *args])
        assert shown.exit_code == 0, shown.output
        assert not [k for k in keys if k in shown.output]
    listed = run.invoke(app, ["sp", "reports", "list", "--config", config])  # DOV's reports
    assert listed.exit_code == 0 and "DQ-DOV0" in listed.output, listed.output
    assert not [k for k in keys if k in listed.output] and "removed (art. 3)" in listed.output
    entries = json.loads(
        run.invoke(app, ["sp", "log", "show", "--json", "--config", config]).output
    )
    assert {e["action"] for e in entries} >= {"identificatie", "bewaartermijn_verwijdering"}
    looked = pupil_of(provider, "LARS: activiteit geregistreerd")
    base = ["sp", "log", "who-looked", "--config", config, "--by", "dpo.lars"]
    answer = run.invoke(app, [*base, "--pupil", looked, "--json"])
    assert answer.exit_code == 0, answer.output
    data = json.loads(answer.output)
    assert looked not in answer.output
    assert data["pupil"] == privacy_log.pseudonym(provider.secrets, looked)
    assert [(x["staff"], x["act"]) for x in data["looks"]] == [
        ("clb.een", "leerling_bekeken"),
        ("clb.een", "dossier_aangevuld"),
    ]
    table = run.invoke(app, [*base, "--pupil", looked])
    assert "2 staff act(s)" in table.output and looked not in table.output
    wrong = run.invoke(app, [*base, "--pupil", "12345"])
    assert isinstance(wrong.exception, LeeridError)
    assert "--pupil '12345' is not a Leer_id_uuid or Account_uuid" in wrong.exception.message
    assert len(logged_lookups(provider)) == 2


@given(st.uuids(), st.text(max_size=40), st.text(max_size=40))
def test_a_key_anywhere_in_a_text_shows_as_its_pseudonym(
    key: uuid.UUID, before: str, after: str
) -> None:
    """Art. 4: whatever surrounds it, a UUID in a purpose or detail is masked, stably."""
    text = f"{before} {key} {after}"
    masked = mask(text, SECRETS)
    assert str(key) not in masked
    assert f"psn-{privacy_log.pseudonym(SECRETS, str(key))}" in masked
    assert mask(str(key).upper(), SECRETS) == mask(str(key), SECRETS)  # one pupil, one name
    assert re.fullmatch(r"[0-9a-f]{16}", privacy_log.pseudonym(SECRETS, str(key)))
    assert pupil_key(f" {str(key).upper()} ") == str(key)


def test_the_pseudonym_depends_on_the_providers_secret() -> None:
    key = str(uuid.uuid4())
    other = ProviderSecrets(session_key=b"o" * 32, signing_key=None, witness_key=None)  # type: ignore[arg-type]
    assert privacy_log.pseudonym(SECRETS, key) != privacy_log.pseudonym(other, key)
    assert privacy_log.pseudonym(SECRETS, key) != privacy_log.hash_key(key)[:16]
