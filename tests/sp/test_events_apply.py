"""Applying the Department's events to the recipient's own database (SQLite and PostgreSQL):
each event in one transaction with its privacy-log entry, a repeat never applied twice, a
malformed one never applied at all."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import func, select

from leerid.protocol import IsoDuration
from leerid.sp.kit import set_verify
from leerid.sp.kit.events_apply import apply_sets
from leerid.sp.kit.last_login import record_login
from leerid.sp.kit.login_claims import LoginAttributes
from leerid.sp.kit.models import (
    AppliedEvent,
    DossierEntry,
    PrivacyLogEntry,
    ProcessorRequest,
    PupilRecord,
    QualityReport,
)
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.set_verify import Expected, check_claims
from leerid.store.engine import session_scope
from leerid.testing.protocol_confirmation import apply_department_event, version_in_force_event
from tests.sp.conftest import PARTNER, PROTOCOL
from tests.sp.test_dossier_retention import every_value, reports_for

NOW = dt.datetime.now(dt.UTC)


def pupil(
    provider: ServiceProvider,
    key: str,
    *,
    kind: str = "leer_id_uuid",
    name: str = "Claes",
    days_ago: int = 1,
    note: str | None = None,
) -> None:
    login = LoginAttributes(
        account_uuid=key if kind == "account_uuid" else str(uuid.uuid4()),
        leer_id_uuid=key if kind == "leer_id_uuid" else None,
        historiek_account_uuids=(),
        given_name="Lena",
        family_name=name,
        orgcodes=(PARTNER,),
    )
    with session_scope(provider.engine) as session:
        record_login(session, login, NOW - dt.timedelta(days=days_ago))
        if note:
            session.add(DossierEntry(pupil_key=key, created_at=NOW, author="clb", text=note))


def report(provider: ServiceProvider, key: str, code: str | None = None) -> None:
    """Art. 7: an open report about ``key`` (with the Department's code when sent)."""
    with session_scope(provider.engine) as session:
        session.add(
            QualityReport(
                remote_id=code,
                pupil_key=key,
                attribute="family_name",
                problem="foutief",
                comment="",
                status="open",
                created_by="clb",
                created_at=NOW,
                updated_at=NOW,
            )
        )


def record(provider: ServiceProvider, key: str) -> PupilRecord | None:
    with session_scope(provider.engine) as session:
        return session.get(PupilRecord, key)


def notes(provider: ServiceProvider, key: str) -> list[str]:
    with session_scope(provider.engine) as session:
        return list(session.scalars(select(DossierEntry.text).where(DossierEntry.pupil_key == key)))


def actions(provider: ServiceProvider) -> list[str]:
    with session_scope(provider.engine) as session:
        return list(session.scalars(select(PrivacyLogEntry.action).order_by(PrivacyLogEntry.seq)))


def test_a_merge_rekeys_the_absorbed_pupil_and_keeps_the_newer_login(
    provider: ServiceProvider,
) -> None:
    """Art. 3: records under the absorbed Leer_id_uuid move to the kept one; the newer last
    login's data is kept, both dossiers are the kept pupil's."""
    kept, absorbed, alone, target = (str(uuid.uuid4()) for _ in range(4))
    pupil(provider, kept, name="Oud", days_ago=30, note="gesprek 1")
    pupil(provider, absorbed, name="Nieuw", days_ago=2, note="gesprek 2")
    merge = {"kept_leer_id_uuid": kept, "absorbed_leer_id_uuid": absorbed, "merged_at": "x"}
    assert apply_department_event(provider, set_verify.PUPILS_MERGED, merge).applied == 1
    assert record(provider, absorbed) is None
    kept_record = record(provider, kept)
    assert kept_record is not None and kept_record.family_name == "Nieuw"
    assert sorted(notes(provider, kept)) == ["gesprek 1", "gesprek 2"]
    # only the absorbed pupil is held here: its record now stands under the kept key
    pupil(provider, alone, name="Enig", note="gesprek 3")
    merge = {"kept_leer_id_uuid": target, "absorbed_leer_id_uuid": alone, "merged_at": "x"}
    apply_department_event(provider, set_verify.PUPILS_MERGED, merge)
    moved = record(provider, target)
    assert moved is not None and moved.family_name == "Enig" and moved.key_kind == "leer_id_uuid"
    assert notes(provider, target) == ["gesprek 3"] and record(provider, alone) is None
    assert actions(provider).count("leerlingen_samengevoegd") == 2


def test_an_identification_links_the_temporary_record(provider: ServiceProvider) -> None:
    """Art. 3: as at a login after identification, the temporary record moves over."""
    temporary, leer_id, account = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    pupil(provider, temporary, kind="account_uuid", note="eerste gesprek")
    event = {
        "leer_id_uuid": leer_id,
        "account_uuid": account,
        "historiek_account_uuid": [temporary],
    }
    apply_department_event(provider, set_verify.ACCOUNT_IDENTIFIED, event)
    linked = record(provider, leer_id)
    assert linked is not None and linked.account_uuid == account
    assert record(provider, temporary) is None
    assert notes(provider, leer_id) == ["eerste gesprek"]
    assert "identificatie" in actions(provider)


def test_an_account_deleted_or_purged_at_dov_keeps_only_the_clbs_own_dossier(
    provider: ServiceProvider,
) -> None:
    """Art. 3: as the three-year purge, the disclosed record goes; the dossier and reports
    stay under their internal key only (the dossier's own retention deletes them later)."""
    gone, purged, stays = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    for key in (gone, purged, stays):
        pupil(provider, key, note=f"gesprek {key[:4]}")
    report(provider, gone)
    deleted = {"leer_id_uuid": gone, "account_uuids": [], "reason": "dubbel"}
    apply_department_event(provider, set_verify.ACCOUNT_DELETED, deleted)
    apply_department_event(
        provider, set_verify.ACCOUNT_PURGED, {"leer_id_uuid": None, "account_uuids": [purged]}
    )
    assert record(provider, gone) is None and record(provider, purged) is None
    assert record(provider, stays) is not None and notes(provider, gone) == []
    with session_scope(provider.engine) as session:
        kept = session.execute(
            select(DossierEntry.text, DossierEntry.dossier_key).where(
                DossierEntry.pupil_key.is_(None)
            )
        ).all()
        (kept_report,) = session.scalars(select(QualityReport)).all()
        details = session.scalars(
            select(PrivacyLogEntry.detail).where(
                PrivacyLogEntry.action == "verwijderd_bij_departement"
            )
        ).all()
    assert sorted(text for text, _ in kept) == sorted(
        [f"gesprek {gone[:4]}", f"gesprek {purged[:4]}"]
    )
    assert all(key not in (gone, purged) for _, key in kept)  # an internal key, not LeerID's
    assert kept_report.pupil_key is None
    assert len(details) == 2 and all(gone not in d and purged not in d for d in details)


def test_a_report_status_from_dov_updates_the_report(provider: ServiceProvider) -> None:
    """Art. 7: the Department's answer to our report."""
    report(provider, str(uuid.uuid4()), "KW-2026-0001")
    event = {"code": "KW-2026-0001", "status": "gesloten", "resolution": "verbeterd"}
    apply_department_event(provider, set_verify.QUALITY_REPORT_STATUS, event)
    with session_scope(provider.engine) as session:
        answered = session.scalars(select(QualityReport)).one()
    assert (answered.status, answered.resolution) == ("gesloten", "verbeterd")


def verified(provider: ServiceProvider, event_type: str, event: dict[str, Any], jti: str) -> Any:
    claims = {
        "iss": provider.settings.issuer,
        "aud": provider.settings.client_id,
        "iat": int(NOW.timestamp()),
        "jti": jti,
        "txn": "7",
        "events": {event_type: event},
    }
    expected = Expected(
        provider.settings.issuer, provider.settings.client_id, NOW, dt.timedelta(days=90)
    )
    return check_claims(claims, expected)


def test_a_repeated_jti_is_acknowledged_and_not_applied_twice(provider: ServiceProvider) -> None:
    """RFC 8936 §2.4: a SET comes again until acknowledged; it is applied once."""
    kept, absorbed = str(uuid.uuid4()), str(uuid.uuid4())
    pupil(provider, absorbed, note="x")
    event = {"kept_leer_id_uuid": kept, "absorbed_leer_id_uuid": absorbed, "merged_at": "x"}
    item = verified(provider, set_verify.PUPILS_MERGED, event, "c" * 32)
    first = apply_sets(provider.engine, [item])
    again = apply_sets(provider.engine, [item, item])
    assert (first.applied, first.duplicates, first.acknowledge) == (1, 0, ["c" * 32])
    assert (again.applied, again.duplicates) == (0, 2) and again.acknowledge == ["c" * 32] * 2
    assert actions(provider).count("leerlingen_samengevoegd") == 1
    with session_scope(provider.engine) as session:
        row = session.get(AppliedEvent, "c" * 32)
    assert row is not None and row.txn == "7"


def test_a_malformed_event_is_rejected_and_the_rest_of_its_batch_applied(
    provider: ServiceProvider,
) -> None:
    """A bad SET in a batch: rejected (setErrs, logged), the others applied."""
    kept, absorbed = str(uuid.uuid4()), str(uuid.uuid4())
    pupil(provider, absorbed)
    good = {"kept_leer_id_uuid": kept, "absorbed_leer_id_uuid": absorbed, "merged_at": "x"}
    bad = {"kept_leer_id_uuid": "Jan Peeters", "absorbed_leer_id_uuid": absorbed}
    items = [
        verified(provider, set_verify.PUPILS_MERGED, bad, "d" * 32),
        verified(provider, set_verify.PUPILS_MERGED, good, "e" * 32),
    ]
    result = apply_sets(provider.engine, items)
    assert result.applied == 1 and result.acknowledge == ["e" * 32]
    assert result.errors["d" * 32].err == "invalid_request"
    assert record(provider, kept) is not None
    with session_scope(provider.engine) as session:
        assert session.get(AppliedEvent, "d" * 32) is None
        logged = session.scalars(
            select(PrivacyLogEntry.detail).where(PrivacyLogEntry.action == "gebeurtenis_geweigerd")
        ).one()
    assert "Jan Peeters" not in logged and "d" * 32 in logged


def test_dov_messages_reach_their_handlers_and_malformed_ones_are_rejected(
    provider: ServiceProvider,
) -> None:
    """Art. 6, 7, 9: DOV's processor request is recorded; a report without its fields is
    rejected (setErrs), never applied and never delivered again and again."""
    event = {"requested_at": NOW.isoformat()}
    result = apply_department_event(provider, set_verify.PROCESSOR_LIST_REQUESTED, event)
    assert result.applied == 1 and not result.errors
    with session_scope(provider.engine) as session:
        assert session.scalar(select(func.count()).select_from(ProcessorRequest)) == 1
    bad = apply_department_event(provider, set_verify.QUALITY_REPORT, {"code": "DQ-7K3M2P"})
    assert bad.applied == 0 and [e.err for e in bad.errors.values()] == ["invalid_request"]
    assert actions(provider)[-1] == "gebeurtenis_geweigerd"


def test_before_dov_confirms_the_protocol_no_pupil_is_admitted(
    bare_provider: ServiceProvider,
) -> None:
    """Art. 11: the local file alone, which DOV has not signed, admits nobody."""
    login = LoginAttributes(
        account_uuid=str(uuid.uuid4()),
        leer_id_uuid=None,
        historiek_account_uuids=(),
        given_name=None,
        family_name=None,
        orgcodes=(PARTNER,),
    )
    assert bare_provider.admit(login).decision.reason == "protocol_not_confirmed"
    assert bare_provider.protocol_state().signed is None


def test_a_version_out_of_step_refuses_logins_until_a_matching_one_comes(
    provider: ServiceProvider,
) -> None:
    """Art. 11: the copy is replaced only when the text matches the signed hash and both
    parties signed; otherwise out of step (logins refused), until a good newer version."""
    local = PROTOCOL.read_text(encoding="utf-8")
    amended = local.replace("inactive_account_deletion: P3Y", "inactive_account_deletion: P2Y")
    wrong_hash = {**version_in_force_event(amended, 2), "content_sha256": "0" * 64}
    apply_department_event(provider, set_verify.PROTOCOL_VERSION_IN_FORCE, wrong_hash)
    state = provider.protocol_state()
    assert state.refusal(NOW) == "protocol_out_of_step"
    assert "inhoudshash" in (state.out_of_step or "")
    one_party = version_in_force_event(amended, 3)
    one_party["signatures"] = one_party["signatures"][:1]
    apply_department_event(provider, set_verify.PROTOCOL_VERSION_IN_FORCE, one_party)
    assert "handtekening" in (provider.protocol_state().out_of_step or "")
    assert "protocol_niet_in_de_pas" in actions(provider)
    assert provider.retention_period == IsoDuration.parse("P3Y")  # still version 1
    good = version_in_force_event(amended, 4)
    apply_department_event(provider, set_verify.PROTOCOL_VERSION_IN_FORCE, good)
    state = provider.protocol_state()
    assert state.refusal(NOW) is None and state.signed is not None and state.signed.version == 4
    assert state.local_stale  # the local file still says P3Y: staff and the DPO see it
    assert provider.retention_period == IsoDuration.parse("P2Y")  # judged from the signed one


def test_after_a_deletion_no_table_but_the_privacy_log_holds_the_key_or_name(
    provider: ServiceProvider,
) -> None:
    """Art. 3: a deletion by DOV removes what DOV disclosed, alone or in a batch of SETs:
    every column of every table but the privacy log is free of the keys and the names."""
    alone, batched, merged, stays = (str(uuid.uuid4()) for _ in range(4))
    names = {alone: "Vandevelde", batched: "Wouters", merged: "Maes", stays: "Goossens"}
    for key, name in names.items():
        pupil(provider, key, name=name, note="gesprek")
        report(provider, key)
        reports_for(provider, key, NOW)
    apply_department_event(
        provider, set_verify.ACCOUNT_DELETED, {"leer_id_uuid": alone, "account_uuids": []}
    )
    merge = {"kept_leer_id_uuid": batched, "absorbed_leer_id_uuid": merged, "merged_at": "x"}
    batch = [
        verified(provider, set_verify.PUPILS_MERGED, merge, "f" * 32),
        verified(
            provider, set_verify.ACCOUNT_PURGED, {"leer_id_uuid": batched, "account_uuids": []},
            "0" * 32,
        ),
    ]  # fmt: skip
    assert apply_sets(provider.engine, batch).applied == 2
    held = every_value(provider, skip=("sp_privacy_log",))
    for gone in (alone, batched, merged, "Vandevelde", "Wouters", "Maes"):
        assert gone not in held, gone
    assert stays in held and "Goossens" in held
    with session_scope(provider.engine) as session:
        detached = session.scalar(
            select(func.count()).select_from(DossierEntry).where(DossierEntry.pupil_key.is_(None))
        )
    assert detached == 3  # the CLB's own dossiers are kept, under their internal key
