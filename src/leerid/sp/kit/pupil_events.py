"""What the Department's pupil events change in the recipient's records (art. 3, art. 7).

Each handler runs inside the transaction that also records the event's ``jti`` and writes
its privacy-log entry; a malformed event raises ``SetRejected`` (``invalid_request``) and
nothing of it is applied. Keys in the log are hashed when the record is gone.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from leerid.sp.kit import privacy_log
from leerid.sp.kit.dossier import detach
from leerid.sp.kit.last_login import link_temporary, rekey
from leerid.sp.kit.models import PupilRecord, QualityReport
from leerid.sp.kit.set_verify import SetRejected

REPORT_STATUSES = ("open", "gesloten", "geweigerd")


_CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
"""A UUID as DOV writes it (RFC 9562 text, lower case): taken as it is, without parsing."""


def uuid_key(value: Any, name: str) -> str:
    """A Leer_id_uuid or Account_uuid (a UUID as text), or ``invalid_request``."""
    if isinstance(value, str) and _CANONICAL.fullmatch(value):
        return value
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise SetRejected("invalid_request", f"{name} is not a UUID") from None


def uuid_keys(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or len(value) > 1000:
        raise SetRejected("invalid_request", f"{name} is not a list of UUIDs")
    return [uuid_key(v, name) for v in value]


def account_identified(
    session: Session, _claims: Mapping[str, Any], event: Mapping[str, Any]
) -> None:
    """Art. 3: the temporary accounts now part of the pupil move to the Leer_id_uuid record,
    as at a login after identification (``last_login.link_temporary``)."""
    leer_id = uuid_key(event.get("leer_id_uuid"), "leer_id_uuid")
    account = uuid_key(event.get("account_uuid"), "account_uuid")
    historiek = set(uuid_keys(event.get("historiek_account_uuid", []), "historiek_account_uuid"))
    link_temporary(session, leer_id, account, (historiek | {account}) - {leer_id})


def pupils_merged(session: Session, _claims: Mapping[str, Any], event: Mapping[str, Any]) -> None:
    """Art. 3: DOV merged two pupils; every record under the absorbed Leer_id_uuid moves to
    the kept one (the newer last login's data is kept, the dossier moves along)."""
    kept = uuid_key(event.get("kept_leer_id_uuid"), "kept_leer_id_uuid")
    absorbed = uuid_key(event.get("absorbed_leer_id_uuid"), "absorbed_leer_id_uuid")
    old = session.get(PupilRecord, absorbed, with_for_update=True)
    moved = rekey(session, [old], kept) if old is not None and absorbed != kept else ()
    log_merged(session, kept, absorbed, len(moved))


def log_merged(session: Session, kept: str, absorbed: str, moved: int) -> None:
    privacy_log.append(session, **merged_entry(kept, absorbed, moved))


def merged_entry(kept: str, absorbed: str, moved: int) -> dict[str, Any]:
    """Art. 6: the privacy-log entry of one merge (the absorbed key only as a hash)."""
    return {
        "actor": "departement",
        "action": "leerlingen_samengevoegd",
        "purpose": "art. 3: twee leerlingen samengevoegd bij het Departement",
        "pupil_key": kept if moved else None,
        "detail": {"opgenomen_sha256": privacy_log.hash_key(absorbed), "records_verplaatst": moved},
    }


def account_deleted(session: Session, claims: Mapping[str, Any], event: Mapping[str, Any]) -> None:
    """Art. 3: the pupil's account is gone at DOV (deleted, or purged by its retention): as
    the retention purge, the disclosed record goes and the CLB's own dossier and reports lose
    the key (``dossier.detach``), in this transaction; the dossier's own retention deletes
    them later."""
    leer_id = event.get("leer_id_uuid")
    keys = uuid_keys(event.get("account_uuids", []), "account_uuids")
    if leer_id is not None:
        keys.append(uuid_key(leer_id, "leer_id_uuid"))
    present = list(
        session.scalars(select(PupilRecord.pupil_key).where(PupilRecord.pupil_key.in_(keys)))
    )
    if present:
        detach(session, present)
        session.execute(delete(PupilRecord).where(PupilRecord.pupil_key.in_(present)))
    log_deleted(session, claims, present)


def log_deleted(session: Session, claims: Mapping[str, Any], present: list[str]) -> None:
    privacy_log.append(session, **deleted_entry(claims, present))


def deleted_entry(claims: Mapping[str, Any], present: list[str]) -> dict[str, Any]:
    """Art. 6: the privacy-log entry of one deletion (the removed keys only as hashes)."""
    purged = "risc" in next(iter(claims.get("events", {"": 0})))
    return {
        "actor": "departement",
        "action": "verwijderd_bij_departement",
        "purpose": "art. 3: account bij het Departement "
        + ("opgeruimd na zijn bewaartermijn" if purged else "verwijderd")
        + "; meegedeelde gegevens hier gewist, eigen dossier zonder sleutel bewaard",
        "detail": {
            "aantal": len(present),
            "sleutels_sha256": sorted(map(privacy_log.hash_key, present)),
        },
    }


def report_status(session: Session, _claims: Mapping[str, Any], event: Mapping[str, Any]) -> None:
    """Art. 7: the Department's answer to a report this recipient sent: its status."""
    code = event.get("code")
    state = event.get("status")
    if not isinstance(code, str) or not code or len(code) > 36 or state not in REPORT_STATUSES:
        raise SetRejected("invalid_request", "code or status of the report is not valid")
    resolution = event.get("resolution")
    changed = session.execute(
        update(QualityReport)
        .where(QualityReport.remote_id == code)
        .values(
            status=state,
            resolution=None if resolution is None else str(resolution)[:2000],
            updated_at=dt.datetime.now(dt.UTC),
        )
    )
    privacy_log.append(
        session,
        actor="departement",
        action="melding_status",
        purpose="art. 7: antwoord van het Departement op een melding",
        detail={"nr": code, "status": state, "gevonden": bool(getattr(changed, "rowcount", 0))},
    )
