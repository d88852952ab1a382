"""The provider's duties on its own database (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from sqlalchemy import Engine, inspect, select, text, update
from sqlalchemy.exc import DBAPIError

from leerid.errors import LeeridError
from leerid.sp.kit import access_request, privacy_log
from leerid.sp.kit.last_login import record_login
from leerid.sp.kit.login_claims import LoginAttributes
from leerid.sp.kit.models import (
    DossierEntry,
    PrivacyLogEntry,
    PrivacyLogHead,
    PupilRecord,
    SPBase,
)
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.retention import purge
from leerid.sp.kit.set_verify import PROTOCOL_ENDED
from leerid.sp.kit.staff import add_staff, authenticate
from leerid.store.engine import session_scope
from leerid.testing.protocol_confirmation import apply_department_event
from tests.sp.conftest import PARTNER, add_bound_staff

NOW = dt.datetime.now(dt.UTC)


def login(
    *,
    leer_id: str | None = None,
    account: str | None = None,
    historiek: tuple[str, ...] = (),
    schools: tuple[str, ...] = (PARTNER,),
    given: str = "Lotte",
    family: str = "Vermeulen",
) -> LoginAttributes:
    return LoginAttributes(
        account_uuid=account or str(uuid.uuid4()),
        leer_id_uuid=leer_id,
        historiek_account_uuids=historiek,
        orgcodes=schools,
        given_name=given,
        family_name=family,
    )


def drop_append_only_trigger(engine: Engine) -> None:
    with engine.begin() as conn:
        on = " ON sp_privacy_log" if conn.dialect.name == "postgresql" else ""
        conn.execute(text(f"DROP TRIGGER sp_privacy_log_no_update{on}"))


def dump(provider: ServiceProvider) -> str:
    """Every value of every table of the provider's database, as one text."""
    parts = []
    with provider.engine.connect() as conn:
        for table in SPBase.metadata.sorted_tables:
            for row in conn.execute(table.select()):
                parts.append(repr(tuple(row)))
    return "\n".join(parts)


def test_only_the_last_login_is_kept_and_no_history_anywhere(provider: ServiceProvider) -> None:
    """Art. 3: one record per pupil, overwritten; no table, column or log keeps old values."""
    leer_id = str(uuid.uuid4())
    first = login(
        leer_id=leer_id, given="Oudevoornaam", family="Oudenaam", schools=(PARTNER, "099999")
    )
    assert provider.admit(first, NOW - dt.timedelta(days=3)).decision.admitted
    second = login(leer_id=leer_id, account=first.account_uuid, given="Lotte")
    assert provider.admit(second, NOW).decision.admitted
    with session_scope(provider.engine) as session:
        rows = session.scalars(select(PupilRecord)).all()
        assert len(rows) == 1
        assert (rows[0].given_name, rows[0].family_name, rows[0].orgcodes) == (
            "Lotte",
            "Vermeulen",
            PARTNER,
        )
        assert rows[0].last_login_at.replace(tzinfo=dt.UTC) == NOW
    everything = dump(provider)
    assert "Oudevoornaam" not in everything and "Oudenaam" not in everything
    assert "099999" not in everything
    # the schema: personal attributes live in one table only, without history columns
    columns = {
        (t, c["name"])
        for t in inspect(provider.engine).get_table_names()
        for c in inspect(provider.engine).get_columns(t)
    }
    holders = {t for t, c in columns if c in {"given_name", "family_name", "orgcodes"}}
    assert holders == {"sp_pupil"}
    assert not any(w in c for _, c in columns for w in ("previous", "history", "historiek", "old_"))
    assert not any("history" in t or "audit" in t for t, _ in columns)


def test_refused_login_is_recorded_without_keeping_the_pupil(provider: ServiceProvider) -> None:
    """Preamble D, art. 3: no partner school, no access; the refusal is recorded."""
    outsider = login(schools=("099999",), given="Buitenstaander")
    admission = provider.admit(outsider, NOW)
    assert not admission.decision.admitted
    assert admission.decision.reason == "no_partner_school"
    assert provider.admit(login(schools=()), NOW).decision.reason == "no_enrolment"
    with session_scope(provider.engine) as session:
        assert session.scalars(select(PupilRecord)).all() == []
        refusals = session.scalars(
            select(PrivacyLogEntry).where(PrivacyLogEntry.action == "toegang_geweigerd")
        ).all()
    assert len(refusals) == 2
    assert json.loads(refusals[0].detail)["sleutel_sha256"] == privacy_log.hash_key(
        outsider.pupil_key
    )
    assert outsider.pupil_key not in dump(provider)
    assert "Buitenstaander" not in dump(provider)


def test_identification_moves_the_unidentified_record_and_its_links(
    provider: ServiceProvider,
) -> None:
    """Art. 3: Historiek_account_uuid names a stored unidentified record: it moves, in one
    transaction, and is gone."""
    temporary = login(account=str(uuid.uuid4()), given="Tijdelijk")
    provider.admit(temporary, NOW - dt.timedelta(days=30))
    add_bound_staff(provider, "clb1", "lang-genoeg-wachtwoord")
    provider.add_dossier_entry("clb1", "toegangscontrole", temporary.pupil_key, "gesprek")
    leer_id = str(uuid.uuid4())
    identified = login(leer_id=leer_id, historiek=(temporary.account_uuid,))
    outcome = provider.admit(identified, NOW).outcome
    assert outcome is not None and outcome.merged_keys == (temporary.account_uuid,)
    with session_scope(provider.engine) as session:
        keys = session.scalars(select(PupilRecord.pupil_key)).all()
        entries = session.scalars(select(DossierEntry)).all()
    assert keys == [leer_id]
    assert [(e.pupil_key, e.text) for e in entries] == [(leer_id, "gesprek")]
    assert "Tijdelijk" not in dump(provider)


def test_merge_is_all_or_nothing(provider: ServiceProvider) -> None:
    """Art. 3: when the merge fails half-way, nothing of it stays."""
    temporary = login()
    provider.admit(temporary, NOW)
    add_bound_staff(provider, "clb1", "lang-genoeg-wachtwoord")
    provider.add_dossier_entry("clb1", "toegangscontrole", temporary.pupil_key, "notitie")
    from leerid.sp.kit import last_login

    original = privacy_log.append

    def failing(*args: object, **kwargs: object) -> PrivacyLogEntry:
        raise RuntimeError("disk full")

    privacy_log.append = failing  # type: ignore[assignment]
    try:
        with pytest.raises(RuntimeError):
            provider.admit(login(leer_id=str(uuid.uuid4()), historiek=(temporary.pupil_key,)), NOW)
    finally:
        privacy_log.append = original  # type: ignore[assignment]
    assert last_login.privacy_log.append is original
    with session_scope(provider.engine) as session:
        assert session.scalars(select(PupilRecord.pupil_key)).all() == [temporary.pupil_key]
        assert session.scalars(select(DossierEntry.pupil_key)).all() == [temporary.pupil_key]


def test_retention_purge_in_batches_with_receipts(provider: ServiceProvider) -> None:
    """Art. 3: inactive after P3Y deleted, at most N rows per transaction, receipts logged."""
    old = [login() for _ in range(5)]
    with session_scope(provider.engine) as session:  # logins before the protocol's signing
        for item in old:
            record_login(session, item, NOW - dt.timedelta(days=3 * 366 + 2))
        recent = login()
        record_login(session, recent, NOW - dt.timedelta(days=3 * 365 - 30))
    dry = purge(provider.engine, provider.retention_period, now=NOW, dry_run=True)
    assert dry.count == 5 and dry.batches == 0
    result = purge(provider.engine, provider.retention_period, now=NOW, batch=2)
    assert (result.count, result.batches) == (5, 3)
    with session_scope(provider.engine) as session:
        assert session.scalars(select(PupilRecord.pupil_key)).all() == [recent.pupil_key]
        receipts = session.scalars(
            select(PrivacyLogEntry).where(PrivacyLogEntry.action == "bewaartermijn_verwijdering")
        ).all()
    assert [json.loads(r.detail)["aantal"] for r in receipts] == [2, 2, 1]
    hashed = {h for r in receipts for h in json.loads(r.detail)["sleutels_sha256"]}
    assert hashed == {privacy_log.hash_key(o.pupil_key) for o in old}
    assert not any(o.pupil_key in dump(provider) for o in old)


def test_privacy_log_detects_altered_removed_and_truncated_entries(
    bare_provider: ServiceProvider,
) -> None:
    """Art. 6: the chain names every change."""
    provider = bare_provider
    for i in range(6):
        privacy_log.record(
            provider.engine,
            actor="clb1",
            action="leerling_bekeken",
            purpose=f"doel {i}",
            pupil_key=str(uuid.uuid4()),
        )
    assert privacy_log.verify(provider.engine, provider.secrets).ok
    with pytest.raises(DBAPIError, match="append-only"), provider.engine.begin() as conn:
        conn.execute(update(PrivacyLogEntry).where(PrivacyLogEntry.seq == 2).values(purpose="x"))
    drop_append_only_trigger(provider.engine)  # someone with rights over the schema
    with provider.engine.begin() as conn:
        conn.execute(update(PrivacyLogEntry).where(PrivacyLogEntry.seq == 2).values(purpose="x"))
    assert any(
        "entry 2 was altered" in p
        for p in privacy_log.verify(provider.engine, provider.secrets).problems
    )
    with provider.engine.begin() as conn:
        conn.execute(text("DELETE FROM sp_privacy_log WHERE seq = 4"))
    assert any(
        "entry 4 is missing" in p
        for p in privacy_log.verify(provider.engine, provider.secrets).problems
    )
    with provider.engine.begin() as conn:
        conn.execute(text("DELETE FROM sp_privacy_log WHERE seq = 6"))
    assert any(
        "newest entries were removed" in p
        for p in privacy_log.verify(provider.engine, provider.secrets).problems
    )


def test_privacy_log_prune_leaves_a_signed_anchor(bare_provider: ServiceProvider) -> None:
    """Art. 6 (log management): pruning keeps the chain verifiable; a forged record is seen."""
    provider = bare_provider
    for i in range(5):
        privacy_log.record(
            provider.engine,
            actor="clb1",
            action="x",
            purpose=str(i),
            at=NOW - dt.timedelta(days=800 - i),
        )
    privacy_log.record(provider.engine, actor="clb1", action="x", purpose="new", at=NOW)
    assert (
        privacy_log.prune(
            provider.engine, provider.secrets, NOW - dt.timedelta(days=1), dry_run=True
        ).count
        == 5
    )
    result = privacy_log.prune(provider.engine, provider.secrets, NOW - dt.timedelta(days=1))
    assert result.count == 5
    check = privacy_log.verify(provider.engine, provider.secrets)
    assert check.ok and check.entries == 1 and check.first_seq == 6
    with provider.engine.begin() as conn:
        conn.execute(text("UPDATE sp_log_prune SET last_seq = 4"))
    problems = privacy_log.verify(provider.engine, provider.secrets).problems
    assert any("invalid signature" in p for p in problems)


def test_staff_roles_come_from_the_protocol_and_views_are_logged(
    provider: ServiceProvider,
) -> None:
    """Art. 4: roles of the protocol; pupil data only for a role that may see it; each view
    is in the privacy log with who, which pupil and why."""
    with pytest.raises(LeeridError, match="not a recipient role"):
        add_staff(provider.engine, provider.protocol, "x1", "lang-genoeg-wachtwoord", "admin")
    add_bound_staff(provider, "clb1", "lang-genoeg-wachtwoord")
    add_staff(provider.engine, provider.protocol, "dpo1", "lang-genoeg-wachtwoord", "dpo")
    account = authenticate(provider.engine, "clb1", "lang-genoeg-wachtwoord")
    assert account is not None and account.password_hash.startswith("$argon2id$")
    assert authenticate(provider.engine, "clb1", "verkeerd-wachtwoord") is None
    assert authenticate(provider.engine, "niemand", "lang-genoeg-wachtwoord") is None
    pupil = login()
    provider.admit(pupil, NOW)
    with pytest.raises(PermissionError):
        provider.view_pupil("dpo1", "dpo", pupil.pupil_key, "nieuwsgierig")
    snapshot = provider.view_pupil("clb1", "toegangscontrole", pupil.pupil_key, "vraag leerling")
    assert snapshot.get("voornaam") == "Lotte"
    with session_scope(provider.engine) as session:
        entry = session.scalars(
            select(PrivacyLogEntry).where(PrivacyLogEntry.action == "leerling_bekeken")
        ).one()
    assert (entry.actor, entry.pupil_key, entry.purpose) == (
        "clb1",
        pupil.pupil_key,
        "vraag leerling",
    )
    assert "Lotte" not in entry.detail


def test_access_request_is_the_pupils_own_and_logged(provider: ServiceProvider) -> None:
    """GDPR art. 15, the only way data leaves the provider (art. 4)."""
    pupil = login()
    provider.admit(pupil, NOW)
    report = access_request.request_copy(provider, pupil.pupil_key, None, "json")
    data = json.loads(access_request.as_text(report, {}))
    assert data["bewaard"]["sleutel"] == pupil.pupil_key and data["bewaard"]["voornaam"] == "Lotte"
    assert data["logins"] is None  # LeerID was not asked: said, not left empty
    with session_scope(provider.engine) as session:
        head = session.get(PrivacyLogHead, 1)
        last = session.get(PrivacyLogEntry, head.seq if head else 0)
    assert last is not None and last.action == "inzageverzoek"


def test_no_access_once_the_protocol_is_terminated(provider: ServiceProvider) -> None:
    """Art. 8 and 11: DOV terminated the protocol; no pupil is admitted any more, staff
    see no pupil data, and the retention purge goes on (art. 11, last paragraph)."""
    apply_department_event(
        provider,
        PROTOCOL_ENDED,
        {
            "protocol_id": provider.local_protocol.id,
            "kind": "terminated",
            "ground": "sanction",
            "effective_at": "2026-01-10T00:00:00+01:00",
            "reason": "Niet-naleving (art. 8)",
        },
    )
    admission = provider.admit(login(), NOW)
    assert not admission.decision.admitted
    assert admission.decision.reason == "protocol_terminated"
    assert provider.protocol_status(NOW) == "terminated"
    with pytest.raises(PermissionError, match=r"art\. 8, 11"):
        provider.list_pupils("clb", "toegangscontrole", "controle")
    # Art. 11, last paragraph: after the end, the retention and destruction duties go on.
    with session_scope(provider.engine) as session:
        record_login(session, login(), NOW - dt.timedelta(days=3 * 366 + 2))
    assert purge(provider.engine, provider.retention_period, now=NOW).count == 1
    with session_scope(provider.engine) as session:
        assert session.scalars(select(PupilRecord.pupil_key)).all() == []


def test_migrations_match_the_models(provider: ServiceProvider) -> None:
    """The hand-written migrations create exactly the tables the models declare."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with provider.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SPBase.metadata)
    assert diff == []


def test_quality_report_migration_matches_its_model(engine: Engine) -> None:
    """0005_idp_reports creates idp_quality_report as QualityReportRow declares it."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from leerid.schema import load_all_models
    from leerid.store.base import Base

    load_all_models()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diff if "idp_quality_report" in repr(d)] == []
    assert "idp_quality_report" in inspect(engine).get_table_names()
