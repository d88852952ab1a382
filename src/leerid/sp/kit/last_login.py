"""The pupil record: only the data of the last login, and the identification merge."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from leerid.sp.kit import privacy_log
from leerid.sp.kit.carried_history import carry
from leerid.sp.kit.dossier import KEYED, unify
from leerid.sp.kit.login_claims import LoginAttributes
from leerid.sp.kit.models import PupilRecord


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
    return link_temporary(session, key, login.account_uuid, old_keys)


def link_temporary(
    session: Session, leer_id_uuid: str, account_uuid: str, old_keys: set[str]
) -> tuple[str, ...]:
    """Art. 3: the records under the temporary ``old_keys`` move to ``leer_id_uuid`` (at a
    login, or when the Department announces the identification); their keys, sorted."""
    if not old_keys:
        return ()
    olds = session.scalars(
        select(PupilRecord)
        .where(PupilRecord.pupil_key.in_(sorted(old_keys)), PupilRecord.key_kind == "account_uuid")
        .with_for_update()
    ).all()
    moved = rekey(session, list(olds), leer_id_uuid, account_uuid)
    if moved:
        privacy_log.append(
            session,
            actor="systeem",
            action="identificatie",
            purpose="art. 3: samenvoegen na identificatie",
            pupil_key=leer_id_uuid,
            detail={"samengevoegd": [privacy_log.hash_key(k) for k in moved]},
        )
    return moved


def rekey(
    session: Session, olds: list[PupilRecord], key: str, account_uuid: str | None = None
) -> tuple[str, ...]:
    """Art. 3: ``olds`` and all linked to them (dossier, quality reports) move to the record
    ``key`` (a Leer_id_uuid); the newest last login's data is the one kept (only the data of
    the last login is kept). ``key``'s record is made when it does not exist yet."""
    olds = [o for o in olds if o.pupil_key != key]
    if not olds:
        return ()
    target = session.get(PupilRecord, key, with_for_update=True)
    newest = max(olds, key=lambda o: _aware(o.last_login_at))
    if target is None:
        target = PupilRecord(pupil_key=key, key_kind="leer_id_uuid")
        session.add(target)
    if target.last_login_at is None or _aware(newest.last_login_at) > _aware(target.last_login_at):
        target.key_kind = "leer_id_uuid"
        target.account_uuid = account_uuid or newest.account_uuid
        target.given_name = newest.given_name
        target.family_name = newest.family_name
        target.orgcodes = newest.orgcodes
        target.last_login_at = newest.last_login_at
    session.flush()
    for old in olds:
        for table in KEYED:  # the dossier and both kinds of report move along
            session.execute(
                update(table).where(table.pupil_key == old.pupil_key).values(pupil_key=key)
            )
        session.delete(old)
    session.flush()
    unify(session, [key])  # two dossiers met: one pupil, one dossier (its oldest entry's key)
    carry(session, {o.pupil_key: key for o in olds})  # GDPR art. 15: the history follows
    return tuple(sorted(o.pupil_key for o in olds))


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)  # SQLite: no offset
