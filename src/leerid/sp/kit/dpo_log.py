"""The privacy log as the DPO reads it: keyed pseudonyms, never a pupil key in clear.

Art. 4 lists the recipients of the disclosed data ("De medewerkers van de Dienstenleverancier
belast met de toegangscontrole ..."); the DPO is not one of them. The DPO checks the log
(art. 6: "een logsysteem en logbeheer van de privacylogs") on pseudonyms: every pupil key,
in the key column and anywhere in the purpose or the detail, shows as
``privacy_log.pseudonym`` (hashed keys, 64 hex digits, stay as they are). For a pupil's
access request (GDPR art. 15) the DPO enters the pupil's identifier and gets who looked at
the file, when and in which function; that lookup is itself logged (``inzage_dpo``), with
the pseudonym only.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from leerid.errors import LeeridError
from leerid.sp.kit import privacy_log
from leerid.sp.kit.keys import ProviderSecrets
from leerid.sp.kit.models import PrivacyLogEntry
from leerid.sp.kit.pseudonym_index import keys_named
from leerid.sp.kit.who_looked import Look, looks_at
from leerid.store.engine import session_scope

UUID_TEXT = re.compile(
    r"(?<![0-9A-Za-z])[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{12}(?![0-9A-Za-z])"
)
"""A Leer_id_uuid or Account_uuid wherever it stands in a text."""
PREFIX = "psn-"


class NotAPupilKeyError(LeeridError):
    """What the DPO entered is not a Leer_id_uuid or Account_uuid."""

    def __init__(self, given: str) -> None:
        super().__init__(
            f"--pupil {given[:60]!r} is not a Leer_id_uuid or Account_uuid: give the UUID from "
            "the access request, e.g. 3f2a6c1e-8b7d-4e0f-9a51-2c6d8e4b7a90"
        )
        self.dutch = (
            "Dat is geen leerlingensleutel of accountnummer. Neem de sleutel over uit het "
            "inzageverzoek: 36 tekens, zoals 3f2a6c1e-8b7d-4e0f-9a51-2c6d8e4b7a90."
        )


@dataclass(frozen=True)
class DpoEntry:
    """One privacy-log entry with every pupil key replaced by its pseudonym."""

    seq: int
    at: dt.datetime
    actor: str
    action: str
    pupil: str | None
    purpose: str
    detail: Any


def mask(text: str, secrets: ProviderSecrets) -> str:
    """``text`` with every UUID in it replaced by its pseudonym."""
    return UUID_TEXT.sub(lambda m: PREFIX + privacy_log.pseudonym(secrets, m.group()), text)


def _masked(value: Any, secrets: ProviderSecrets) -> Any:
    if isinstance(value, str):
        return mask(value, secrets)
    if isinstance(value, Mapping):
        return {mask(str(k), secrets): _masked(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, secrets) for v in value]
    return value


def for_dpo(entry: PrivacyLogEntry, secrets: ProviderSecrets) -> DpoEntry:
    """Art. 4: the entry without any pupil key in clear."""
    try:
        detail = json.loads(entry.detail or "{}")
    except ValueError:
        detail = entry.detail
    return DpoEntry(
        seq=entry.seq,
        at=entry.at,
        actor=mask(entry.actor, secrets),
        action=entry.action,
        pupil=None if entry.pupil_key is None else privacy_log.pseudonym(secrets, entry.pupil_key),
        purpose=mask(entry.purpose, secrets),
        detail=_masked(detail, secrets),
    )


def recent_for_dpo(engine: Engine, secrets: ProviderSecrets, limit: int = 200) -> list[DpoEntry]:
    """The newest entries, newest first, as the DPO sees them."""
    return [for_dpo(e, secrets) for e in privacy_log.recent(engine, limit)]


def pupil_key(given: str) -> str:
    """A Leer_id_uuid or Account_uuid as the kit stores it (lower-case UUID text)."""
    text = given.strip()
    if not UUID_TEXT.fullmatch(text):
        raise NotAPupilKeyError(given)
    return str(uuid.UUID(text))


@dataclass(frozen=True)
class Lookup:
    pseudonym: str
    looks: list[Look]


def keys_of(session: Session, secrets: ProviderSecrets, name: str) -> list[str]:
    """Art. 4: the pupil keys in the log whose pseudonym is ``name`` (the DPO never types a
    key to find them; a pseudonym is a keyed hash, so the log's keys are hashed to compare,
    each once per process: ``pseudonym_index``)."""
    return keys_named(session, secrets, name)


def _lookup(
    session: Session,
    name: str,
    keys: list[str],
    *,
    actor: str,
    role_labels: Mapping[str, str],
) -> Lookup:
    """The looks at the file of the pupil known by ``keys``, the lookup logged (art. 6)."""
    found = {
        (look.at, look.action, look.actor): look
        for k in keys
        for look in looks_at(session, k, role_labels)
    }
    looks = sorted(found.values(), key=lambda look: look.at)
    privacy_log.append(
        session,
        actor=actor,
        action="inzage_dpo",
        purpose="AVG art. 15: wie bekeek het dossier van een leerling (inzageverzoek)",
        detail={"pseudoniem": name, "aantal": len(looks)},
    )
    return Lookup(name, looks)


def who_looked(
    engine: Engine,
    secrets: ProviderSecrets,
    given: str,
    *,
    actor: str,
    role_labels: Mapping[str, str],
) -> Lookup:
    """GDPR art. 15 via the DPO: who looked at this pupil's file, when, in which function;
    the lookup is logged (``inzage_dpo``) with the pseudonym, never the key."""
    key = pupil_key(given)
    name = privacy_log.pseudonym(secrets, key)
    with session_scope(engine) as session:
        return _lookup(session, name, [key], actor=actor, role_labels=role_labels)


def who_looked_by_pseudonym(
    engine: Engine,
    secrets: ProviderSecrets,
    name: str,
    *,
    actor: str,
    role_labels: Mapping[str, str],
) -> Lookup:
    """The same from a pseudonym in the log (the link on a log line): the keys whose
    pseudonym it is are found by hashing the log's keys; logged the same way."""
    with session_scope(engine) as session:
        keys = keys_of(session, secrets, name)
        return _lookup(session, name, keys, actor=actor, role_labels=role_labels)
