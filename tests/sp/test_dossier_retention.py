"""Art. 3: the three-year purge deletes what DOV disclosed, not the CLB's own dossier.

"De meegedeelde gegevens zullen door de Dienstenleverancier gedurende 3 jaar worden bewaard
[...] Het inactieve account wordt verwijderd na een periode van 3 jaar." The dossier keeps an
internal key only and has its own retention per record type, with the CLB's rule cited.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select, text
from typer.testing import CliRunner

from leerid.cli.main import app
from leerid.errors import ConfigurationError, LeeridError
from leerid.sp.kit import dossier, privacy_log, set_verify
from leerid.sp.kit.last_login import record_login
from leerid.sp.kit.login_claims import LoginAttributes
from leerid.sp.kit.models import (
    MIGRATIONS,
    DossierEntry,
    DovReport,
    PrivacyLogEntry,
    QualityReport,
    SPBase,
)
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.retention import purge
from leerid.sp.kit.settings import load_settings
from leerid.store.engine import make_engine, session_scope
from leerid.store.runner import alembic_config, upgrade
from leerid.testing.browser import hidden_fields
from leerid.testing.protocol_confirmation import apply_department_event, confirm_local_protocol
from leerid.testing.servers import free_port, serve_portal
from tests.sp.conftest import PARTNER, add_bound_staff, ref_for, write_config
from tests.sp.test_lars_flow import PASSWORD, staff_login

NOW = dt.datetime.now(dt.UTC)
YEAR = dt.timedelta(days=366)
RETENTION = """
[dossier]
record_types = ["activiteit", "verslag"]

[dossier.retention.activiteit]
keep = "P10Y"
from = "last_entry"
rule = "Besluit van de Vlaamse Regering van 12 september 2008 (multidisciplinair dossier)"

[dossier.retention.kwaliteitsmelding]
keep = "P5Y"
rule = "Art. 7 protocol: bewijs van de melding; bevestigd door de DPO van het CLB"
"""


def configured(database_url: str, tmp_path: Path, extra: str = RETENTION) -> ServiceProvider:
    path = write_config(tmp_path / "sp", database_url)
    path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
    provider = ServiceProvider(load_settings(path))
    confirm_local_protocol(provider)
    add_bound_staff(provider, "clb", "een-lang-wachtwoord")  # art. 4, 6: may write a dossier
    return provider


def login(
    key: str, *, kind: str = "leer_id_uuid", name: str = "Vermeulen", **more: object
) -> LoginAttributes:
    return LoginAttributes(
        account_uuid=key if kind == "account_uuid" else str(uuid.uuid4()),
        leer_id_uuid=key if kind == "leer_id_uuid" else None,
        historiek_account_uuids=tuple(more.get("historiek", ())),  # type: ignore[arg-type]
        given_name="Zoë",
        family_name=name,
        orgcodes=(PARTNER,),
    )


def admit(provider: ServiceProvider, attributes: LoginAttributes, at: dt.datetime) -> None:
    with session_scope(provider.engine) as session:
        record_login(session, attributes, at)


def reports_for(provider: ServiceProvider, key: str, at: dt.datetime) -> None:
    """Art. 7: one report of ours and one of DOV's about ``key``."""
    with session_scope(provider.engine) as session:
        session.add(
            QualityReport(
                pupil_key=key,
                attribute="family_name",
                problem="foutief",
                comment="",
                status="gesloten",
                created_by="clb",
                created_at=at,
                updated_at=at,
            )
        )
        session.add(
            DovReport(
                code=f"DQ-{uuid.uuid4().hex[:6].upper()}",
                pupil_key=key,
                attribute="given_name",
                problem="foutief",
                comment="",
                source="dov",
                reported_at=at,
                received_at=at,
            )
        )


def every_value(provider: ServiceProvider, skip: tuple[str, ...] = ()) -> str:
    """Every column of every row of every table (but ``skip``), as one text."""
    parts = []
    with provider.engine.connect() as conn:
        for table in SPBase.metadata.sorted_tables:
            if table.name in skip:
                continue
            for row in conn.execute(table.select()):
                parts.extend(f"{table.name}.{k}={v}" for k, v in row._mapping.items())
    return "\n".join(parts)


def entries(provider: ServiceProvider) -> list[tuple[str | None, str, str, str]]:
    with session_scope(provider.engine) as session:
        rows = session.execute(
            select(
                DossierEntry.pupil_key,
                DossierEntry.dossier_key,
                DossierEntry.record_type,
                DossierEntry.text,
            ).order_by(DossierEntry.id)
        ).all()
        return [tuple(r) for r in rows]  # type: ignore[misc]


def receipts(provider: ServiceProvider, action: str) -> list[dict[str, object]]:
    with session_scope(provider.engine) as session:
        details = session.scalars(
            select(PrivacyLogEntry.detail).where(PrivacyLogEntry.action == action)
        ).all()
    return [json.loads(d) for d in details]


def test_the_purge_keeps_the_dossier_under_its_internal_key_only(
    database_url: str, tmp_path: Path
) -> None:
    """Art. 3: the disclosed data goes; the dossier stays, with no LeerID key or name left."""
    provider = configured(database_url, tmp_path)
    old, temporary, active = (str(uuid.uuid4()) for _ in range(3))
    admit(provider, login(old, name="Oudenaam"), NOW - 4 * YEAR)
    admit(provider, login(temporary, kind="account_uuid", name="Tijdelijk"), NOW - 4 * YEAR)
    admit(provider, login(active), NOW)
    for key in (old, old, temporary, active):
        provider.add_dossier_entry("clb", "toegangscontrole", key, "Gesprek met de leerling")
    provider.add_dossier_entry("clb", "toegangscontrole", old, "Verslag", record_type="verslag")
    reports_for(provider, old, NOW - 4 * YEAR)
    before = {e[0]: e[1] for e in entries(provider)}
    assert len(set(before.values())) == 3  # one dossier per pupil, assigned at the first entry
    assert not set(before.values()) & {old, temporary, active}  # never a LeerID key

    result = purge(provider.engine, provider.retention_period, now=NOW)

    assert (result.count, result.dossiers_kept, result.reports_kept) == (2, 2, 2)
    kept = entries(provider)
    assert len(kept) == 5  # nothing of the CLB's own record was deleted
    detached = [e for e in kept if e[0] is None]
    assert {e[1] for e in detached} == {before[old], before[temporary]}
    assert {e[2] for e in detached} == {"activiteit", "verslag"}
    # every column of every table but the privacy log: no purged key, no name
    held = every_value(provider, skip=("sp_privacy_log",))
    for gone in (old, temporary, "Oudenaam", "Tijdelijk"):
        assert gone not in held
    assert active in held  # the active pupil is untouched
    (receipt,) = receipts(provider, "bewaartermijn_verwijdering")
    assert receipt["dossiers_bewaard"] == 2 and receipt["meldingen_bewaard"] == 2
    assert receipt["sleutels_sha256"] == sorted(privacy_log.hash_key(k) for k in (old, temporary))
    # art. 6: the log keeps staff acts by key until its own retention prunes them; the
    # receipt and every detail hold hashes only, and no name is in the log at all
    log = every_value(
        provider, skip=tuple(t for t in SPBase.metadata.tables if t != "sp_privacy_log")
    )
    assert "Oudenaam" not in log and "Tijdelijk" not in log
    assert old not in json.dumps(receipts(provider, "bewaartermijn_verwijdering"))
    provider.engine.dispose()


def test_a_dossier_goes_after_its_own_period_and_a_type_without_one_is_kept(
    database_url: str, tmp_path: Path
) -> None:
    """The CLB's rule per record type: after the dossier's last entry; unconfigured: kept."""
    provider = configured(database_url, tmp_path)
    closed, open_ = str(uuid.uuid4()), str(uuid.uuid4())
    with session_scope(provider.engine) as session:
        for key, ages in ((closed, (12, 11)), (open_, (12, 1))):
            for years in ages:
                session.add(
                    DossierEntry(
                        pupil_key=None,
                        dossier_key=key,
                        record_type="activiteit",
                        created_at=NOW - years * YEAR,
                        author="clb",
                        text="gesprek",
                    )
                )
        session.add(
            DossierEntry(
                pupil_key=None,
                dossier_key=closed,
                record_type="verslag",
                created_at=NOW - 11 * YEAR,
                author="clb",
                text="verslag",
            )
        )
    reports_for(provider, str(uuid.uuid4()), NOW - 6 * YEAR)
    settings = provider.settings.dossier

    dry = dossier.purge(provider.engine, settings, now=NOW, dry_run=True)
    assert dry.deleted == {"activiteit": 2, "kwaliteitsmelding": 1}
    assert dry.unconfigured == {"dov_melding": 1, "verslag": 1}
    assert len(entries(provider)) == 5  # a dry run deletes nothing

    done = dossier.purge(provider.engine, settings, now=NOW, batch=1)
    assert done.deleted == {"activiteit": 2, "kwaliteitsmelding": 1}
    assert done.batches == 3 and done.dossiers == 0  # the closed dossier keeps its verslag
    left = entries(provider)
    assert sorted((e[1], e[2]) for e in left) == sorted(
        [(closed, "verslag"), (open_, "activiteit"), (open_, "activiteit")]
    )
    found = receipts(provider, "dossier_bewaartermijn_verwijdering")
    assert len(found) == 3  # one receipt per batch
    assert {json.dumps(r["per_soort"]) for r in found} == {
        '{"activiteit": 1}',
        '{"kwaliteitsmelding": 1}',
    }
    hashed = {h for r in found for h in r["dossiers_sha256"]}  # type: ignore[attr-defined]
    assert hashed == {privacy_log.hash_key(closed)}
    assert closed not in json.dumps(found)
    provider.engine.dispose()


def test_the_command_reports_types_without_retention(database_url: str, tmp_path: Path) -> None:
    provider = configured(database_url, tmp_path)
    key = str(uuid.uuid4())
    admit(provider, login(key), NOW)
    provider.add_dossier_entry("clb", "toegangscontrole", key, "Verslag", record_type="verslag")
    run = CliRunner()
    config = str(provider.settings.path)
    dry = run.invoke(app, ["sp", "dossier", "purge", "--dry-run", "--config", config])
    assert dry.exit_code == 0, dry.output
    assert "activiteit: would delete 0 (P10Y from the last entry; Besluit" in dry.output
    assert "verslag: 1 kept: no retention configured ([dossier.retention.verslag])" in dry.output
    real = run.invoke(app, ["sp", "dossier", "purge", "--config", config])
    assert real.exit_code == 0 and "0 dossier(s) gone" in real.output
    assert len(entries(provider)) == 1
    provider.engine.dispose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (
            '[dossier.retention.activiteit]\nkeep = "P10Y"\n',
            "[dossier.retention.activiteit]: rule is required",
        ),
        ('[dossier.retention.activiteit]\nkeep = "tien jaar"\nrule = "x"\n', "keep 'tien jaar'"),
        (
            '[dossier.retention.notitie]\nkeep = "P1Y"\nrule = "x"\n',
            "unknown record type; use one of activiteit",
        ),
        (
            '[dossier.retention.activiteit]\nkeep = "P1Y"\nfrom = "first_entry"\nrule = "x"\n',
            "from 'first_entry'",
        ),
        ('[dossier]\nrecord_types = ["Verslag!"]\n', "record_types: 'Verslag!'"),
    ],
)
def test_a_retention_without_its_legal_rule_is_refused(
    database_url: str, tmp_path: Path, extra: str, says: str
) -> None:
    """No retention without its legal ground: the error names the file and the field."""
    path = write_config(tmp_path / "sp", database_url)
    path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
    with pytest.raises(ConfigurationError) as refused:
        load_settings(path)
    assert str(path) in refused.value.message and says in refused.value.message


def test_an_unknown_record_type_is_refused_with_the_configured_ones(
    database_url: str, tmp_path: Path
) -> None:
    provider = configured(database_url, tmp_path)
    key = str(uuid.uuid4())
    admit(provider, login(key), NOW)
    with pytest.raises(LeeridError) as refused:
        provider.add_dossier_entry("clb", "toegangscontrole", key, "x", record_type="notitie")
    assert "use one of activiteit, verslag" in refused.value.message
    assert entries(provider) == []
    provider.engine.dispose()


def test_when_two_dossiers_meet_the_pupil_keeps_one(database_url: str, tmp_path: Path) -> None:
    """Art. 3 (identification, merge): the entries move along and take the key of the pupil's
    oldest entry, so one pupil has one dossier that survives the purge as one."""
    provider = configured(database_url, tmp_path)
    temporary, leer_id, absorbed = (str(uuid.uuid4()) for _ in range(3))
    admit(provider, login(temporary, kind="account_uuid"), NOW - dt.timedelta(days=9))
    provider.add_dossier_entry("clb", "toegangscontrole", temporary, "eerste gesprek")
    admit(provider, login(absorbed), NOW - dt.timedelta(days=5))
    provider.add_dossier_entry("clb", "toegangscontrole", absorbed, "tweede gesprek")
    first = {e[3]: e[1] for e in entries(provider)}
    # identification at a login: the temporary account's dossier moves to the Leer_id_uuid
    admit(provider, login(leer_id, historiek=(temporary,)), NOW - dt.timedelta(days=3))
    provider.add_dossier_entry("clb", "toegangscontrole", leer_id, "derde gesprek")
    # DOV merges two pupils: both dossiers meet under the kept key
    merge = {"kept_leer_id_uuid": leer_id, "absorbed_leer_id_uuid": absorbed, "merged_at": "x"}
    assert apply_department_event(provider, set_verify.PUPILS_MERGED, merge).applied == 1
    after = entries(provider)
    assert {e[0] for e in after} == {leer_id}
    assert {e[1] for e in after} == {first["eerste gesprek"]}  # the oldest entry's dossier
    purge(provider.engine, provider.retention_period, now=NOW + 4 * YEAR)
    assert {(e[0], e[1]) for e in entries(provider)} == {(None, first["eerste gesprek"])}
    provider.engine.dispose()


def test_the_migration_gives_each_pupils_entries_one_new_dossier_key(database_url: str) -> None:
    """0008: existing entries get one random dossier key per pupil; the cascade is gone."""
    engine = make_engine(database_url)
    upgrade(engine, "0006_sp_recipient_duties", migrations=MIGRATIONS)
    one, two = str(uuid.uuid4()), str(uuid.uuid4())
    with engine.begin() as conn:
        for key in (one, two):
            conn.execute(
                text(
                    "INSERT INTO sp_pupil (pupil_key, key_kind, account_uuid, orgcodes, "
                    "last_login_at) VALUES (:k, 'leer_id_uuid', :k, '', :at)"
                ),
                {"k": key, "at": NOW},
            )
        for key in (one, one, two):
            conn.execute(
                text(
                    "INSERT INTO sp_dossier_entry (pupil_key, created_at, author, text) "
                    "VALUES (:k, :at, 'clb', 'gesprek')"
                ),
                {"k": key, "at": NOW},
            )
    upgrade(engine, "0008_sp_dossier_retention", migrations=MIGRATIONS)
    with engine.begin() as conn:
        rows = conn.execute(
            text("SELECT pupil_key, dossier_key, record_type FROM sp_dossier_entry ORDER BY id")
        ).all()
        conn.execute(text("DELETE FROM sp_pupil WHERE pupil_key = :k"), {"k": one})
        left = conn.execute(text("SELECT count(*) FROM sp_dossier_entry")).scalar()
    keys = {pupil: key for pupil, key, _ in rows}
    assert rows[0][1] == rows[1][1] != rows[2][1]
    assert not set(keys.values()) & {one, two} and {r[2] for r in rows} == {"activiteit"}
    assert left == 3  # deleting the disclosed data no longer cascades into the dossier
    engine.dispose()


def test_staff_pick_the_record_type_on_the_pupils_page(database_url: str, tmp_path: Path) -> None:
    """Art. 3: with more than one record type configured, the web form asks which one, and
    the entry is kept under that type's own retention."""
    port = free_port()
    path = write_config(tmp_path / "sp", database_url, public_url=f"http://127.0.0.1:{port}")
    path.write_text(path.read_text(encoding="utf-8") + RETENTION, encoding="utf-8")
    provider = ServiceProvider(load_settings(path))
    confirm_local_protocol(provider)
    add_bound_staff(provider, "clb.een", PASSWORD)
    key = str(uuid.uuid4())
    admit(provider, login(key), NOW)
    with serve_portal(provider, port) as url:
        browser = staff_login(url, "clb.een")
        csrf = hidden_fields(browser.get(f"{url}/personeel").text)["csrf"]
        ref = ref_for(provider, "clb.een", key)
        page = browser.post(
            f"{url}/personeel/leerlingen/open", data={"csrf": csrf, "sleutel": ref, "doel": "x"}
        )
        assert '<option value="verslag">' in page.text
        done = browser.post(
            f"{url}/personeel/leerlingen/dossier",
            data={"csrf": csrf, "sleutel": ref, "tekst": "Verslag", "soort": "verslag"},
        )
        assert done.status_code == 303
        wrong = browser.post(
            f"{url}/personeel/leerlingen/dossier",
            data={"csrf": csrf, "sleutel": ref, "tekst": "x", "soort": "geheim"},
        )
        assert wrong.status_code == 400 and "verslag" in wrong.text
    with session_scope(provider.engine) as session:
        kinds = session.scalars(select(DossierEntry.record_type)).all()
    assert kinds == ["verslag"]
    provider.engine.dispose()


def test_a_downgrade_below_0008_is_refused_while_dossiers_are_kept_without_a_key(
    database_url: str,
) -> None:
    """Art. 3: the older schema cannot hold a detached dossier; the downgrade says so and
    deletes nothing (it would leave no receipt)."""
    engine = make_engine(database_url)
    upgrade(engine, "0008_sp_dossier_retention", migrations=MIGRATIONS)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO sp_dossier_entry (pupil_key, dossier_key, record_type, created_at, "
                "author, text) VALUES (NULL, :d, 'activiteit', :at, 'clb', 'gesprek')"
            ),
            {"d": str(uuid.uuid4()), "at": NOW},
        )
    config = alembic_config(engine, MIGRATIONS)
    with pytest.raises(RuntimeError, match="sp_dossier_entry: 1"):
        command.downgrade(config, "0006_sp_recipient_duties")
    with engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM sp_dossier_entry")).scalar_one() == 1
        conn.execute(text("DELETE FROM sp_dossier_entry"))
    command.downgrade(config, "0006_sp_recipient_duties")  # nothing kept: it goes through
    engine.dispose()
