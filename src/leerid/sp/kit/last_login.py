"""The pupil record: only the data of the last login, and the identification merge."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from leerid.sp.kit import privacy_log
from leerid.sp.kit.login_claims import LoginAttributes
from leerid.sp.kit.models import DossierEntry, PupilRecord, QualityReport


@dataclass(frozen=True)
class LoginOutcome:
    pupil_key: str
    created: bool
    merged_keys: tuple[str, ...]


def record_login(session: Session, login: LoginAttributes, at: dt.datetime) -> LoginOutcome:
    """Art. 3: one record per pupil (Leer_id_uuid, else Account_uuid), overwritten at each
    login; earlier values are not kept anywhere."""
    key = login.pupil_key
    record = session.get(PupilRecord, key, with_for_update=True)
    created = record is None
    if record is None:
        record = PupilRecord(pupil_key=key)
        session.add(record)
    record.key_kind = login.key_kind
    record.account_uuid = login.account_uuid
    record.given_name = login.given_name
    record.family_name = login.family_name
    record.orgcodes = ",".join(login.orgcodes)
    record.last_login_at = at
    session.flush()
    merged = merge_identified(session, login) if login.leer_id_uuid else ()
    return LoginOutcome(pupil_key=key, created=created, merged_keys=merged)


def merge_identified(session: Session, login: LoginAttributes) -> tuple[str, ...]:
    """Art. 3: when an identified pupil's Historiek_account_uuid names a stored unidentified
    record, that record and all linked to it move to the Leer_id_uuid record (this
    transaction); the old record is gone."""
    key = login.pupil_key
    old_keys = {*login.historiek_account_uuids, login.account_uuid} - {key}
    if not old_keys:
        return ()
    olds = session.scalars(
        select(PupilRecord)
        .where(PupilRecord.pupil_key.in_(sorted(old_keys)), PupilRecord.key_kind == "account_uuid")
        .with_for_update()
    ).all()
    moved = []
    for old in olds:
        session.execute(
            update(DossierEntry)
            .where(DossierEntry.pupil_key == old.pupil_key)
            .values(pupil_key=key)
        )
        session.execute(
            update(QualityReport)
            .where(QualityReport.pupil_key == old.pupil_key)
            .values(pupil_key=key)
        )
        session.delete(old)
        moved.append(old.pupil_key)
    if moved:
        session.flush()
        privacy_log.append(
            session,
            actor="systeem",
            action="identificatie",
            purpose="art. 3: samenvoegen na identificatie",
            pupil_key=key,
            detail={"samengevoegd": [privacy_log.hash_key(k) for k in sorted(moved)]},
        )
    return tuple(sorted(moved))
