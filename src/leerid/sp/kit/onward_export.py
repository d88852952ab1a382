"""Art. 4: an export of pupils' data to a registered onward recipient, or its logged refusal.

"Elke eventuele mededeling van de gevraagde persoonsgegevens door de Dienstenleverancier moet
voorafgaandelijk aan DOV worden gemeld": only to a recipient whose ``doorgifte`` notice went
(``onward.notify``); "niet toegelaten [...] aan andere dienstenleveranciers die (willen)
aansluiten op Leer_ID": DOV is asked again at each export and, when it gives no answer, the
export is refused (fail closed). "Enkel personen die omwille van hun functieprofiel deze
informatie nodig hebben": the actor is an active member of staff whose role sees pupils'
data, each school is in their scope (``staff.school_scope``), each attribute is one art. 3
lists and LARS holds (``exportable_attributes``). A refusal is written to the privacy log
(``doorgifte_geweigerd``, with the reason and the recipient's KBO number, never a name); an
export writes the file, a row of ``sp_onward_export``, one ``doorgifte`` entry and, per pupil
passed on, a ``doorgegeven`` entry with the pupil's key (GDPR art. 15(1)(c): the pupil's page
names the recipients, ``passed_on``), all together.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from leerid.errors import LeeridError
from leerid.protocol.attributes import AttributeKey
from leerid.sp.kit import privacy_log
from leerid.sp.kit.models import OnwardExport, OnwardRecipient, PupilRecord, StaffAccount
from leerid.sp.kit.need_to_know import Clearance, UnboundStaffError, clearance
from leerid.sp.kit.onward import DovUnreachableError, ask_dov, kbo_option, record_answer
from leerid.sp.kit.passed_on import PASSED_ON
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.relying_party import RelyingParty
from leerid.sp.kit.staff import school_scope
from leerid.store.engine import session_scope

__all__ = ["Export", "ExportRefusedError", "export", "exportable_attributes"]

HELD: dict[AttributeKey, Callable[[PupilRecord], Any]] = {
    AttributeKey.NAAM: lambda p: p.family_name,
    AttributeKey.VOORNAAM: lambda p: p.given_name,
    AttributeKey.LEER_ID_UUID: lambda p: p.pupil_key if p.key_kind == "leer_id_uuid" else None,
    AttributeKey.ACCOUNT_UUID: lambda p: p.account_uuid,
    AttributeKey.INSTELLINGSNUMMER: lambda p: [c for c in p.orgcodes.split(",") if c],
}
"""Art. 3: the attributes LARS holds (``sp_pupil``) and how each is read; never the INSZ."""
SCHOOL = re.compile(r"^\d{6}$")
PURPOSE = "art. 4: mededeling aan een vooraf bij DOV gemelde ontvanger"


class ExportRefusedError(LeeridError):
    """Art. 4: an export that may not happen; written to the privacy log with ``reason``."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Export:
    """One export made: the file, how many pupils, which attributes, the file's SHA-256."""

    path: Path
    pupils: int
    attributes: tuple[str, ...]
    sha256: str


@dataclass(frozen=True)
class _Checked:
    recipient_id: int
    kbo: str
    function: str
    schools: tuple[str, ...]
    attributes: tuple[str, ...]


def exportable_attributes(provider: ServiceProvider, cleared: Clearance) -> list[str]:
    """Art. 3 and art. 4 (second indent): the attributes a person may pass on: those the
    protocol lists, LARS holds and their function profile lets them see, in the protocol's
    order."""
    return [
        a.key.value
        for a in provider.protocol.data.attributes
        if a.key in HELD and cleared.sees(a.key.value)
    ]


def _refuse(provider: ServiceProvider, actor: str, kbo: str, reason: str, message: str) -> NoReturn:
    """Log the refusal in its own transaction (it stays when the command fails), then raise."""
    with session_scope(provider.engine) as session:
        privacy_log.append(
            session,
            actor=actor[:80],
            action="doorgifte_geweigerd",
            purpose=PURPOSE,
            detail={"reden": reason, "ontvanger_kbo": kbo},
        )
    raise ExportRefusedError(message, reason)


def _staff(
    provider: ServiceProvider, session: Session, actor: str
) -> tuple[StaffAccount, Clearance]:
    """The active account ``actor`` whose role sees pupils' data (art. 4), bound by
    confidentiality and trained (art. 6), and what its function profile lets it see."""
    account = session.get(StaffAccount, actor)
    if account is None or not account.active:
        raise ExportRefusedError(
            f"--actor {actor!r} is no active staff account (`leerid sp staff list`)", "geen_toegang"
        )
    perms = provider.permissions(account.role)
    if not perms.sees_pupil_data:
        raise ExportRefusedError(
            f"--actor {actor!r} has role {account.role}, which may not see pupils' data (art. 4)",
            "geen_toegang",
        )
    try:
        cleared = clearance(
            session, provider.settings.profiles, provider.protocol, actor, account.role
        )
    except UnboundStaffError as exc:
        raise ExportRefusedError(f"--actor {actor!r}: {exc}", "niet_gebonden") from None
    return account, cleared


def _recipient(session: Session, kbo: str) -> OnwardRecipient:
    row = session.scalars(select(OnwardRecipient).where(OnwardRecipient.kbo == kbo)).first()
    if row is None or row.notified_at is None:
        raise ExportRefusedError(
            f"KBO {kbo}: DOV was not notified of this recipient beforehand (art. 4); run "
            "`leerid sp onward notify` first (`leerid sp onward list` shows who was)",
            "niet_gemeld",
        )
    return row


def _scope(account: StaffAccount, schools: Sequence[str]) -> tuple[str, ...]:
    wrong = [s for s in schools if not SCHOOL.match(s)]
    if wrong or not schools:
        raise LeeridError(
            f"--school {wrong[0]!r}: give a 6-digit instellingsnummer"
            if wrong
            else "give at least one --school (a 6-digit instellingsnummer)"
        )
    outside = sorted(set(schools) - school_scope(account))
    if outside:
        raise ExportRefusedError(
            f"--school {outside[0]} is outside the schools of {account.username} (art. 4: only "
            "pupils of schools in their scope); see `leerid sp staff list`",
            "buiten_bereik",
        )
    return tuple(dict.fromkeys(schools))


def _attributes(allowed: list[str], asked: Sequence[str] | None) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(a.strip() for a in asked if a.strip())) if asked else ()
    unknown = [a for a in chosen if a not in allowed]
    if unknown:
        raise ExportRefusedError(
            f"--attributes {unknown[0]!r} is not an attribute of art. 3 that may be passed on; "
            "use some of " + ", ".join(allowed),
            "attribuut_niet_toegelaten",
        )
    return chosen or tuple(allowed)


def _check(
    provider: ServiceProvider,
    kbo: str,
    actor: str,
    schools: Sequence[str],
    asked: Sequence[str] | None,
) -> _Checked:
    """The checks that need no DOV; a refusal is logged."""
    try:
        refusal = provider.protocol_state().refusal(dt.datetime.now(dt.UTC))
        if refusal is not None:  # art. 8, 11: no protocol in force, no data
            raise ExportRefusedError(
                f"no protocol in force ({refusal}): nothing is passed on", refusal
            )
        with session_scope(provider.engine) as session:
            recipient = _recipient(session, kbo)
            account, cleared = _staff(provider, session, actor)
            chosen = _scope(account, schools)
            attributes = _attributes(exportable_attributes(provider, cleared), asked)
            return _Checked(recipient.id, kbo, cleared.function, chosen, attributes)
    except ExportRefusedError as exc:
        _refuse(provider, actor, kbo, exc.reason, exc.message)


def _document(
    session: Session, checked: _Checked, name: str, at: dt.datetime
) -> tuple[bytes, list[str]]:
    """The export's JSON (the pupils of the schools, the chosen attributes only) and the keys
    of the pupils in it."""
    wanted = set(checked.schools)
    rows = session.scalars(
        select(PupilRecord)
        .where(or_(*(PupilRecord.orgcodes.contains(s) for s in checked.schools)))
        .order_by(PupilRecord.pupil_key)
    )
    pupils, keys = [], []
    for row in rows:
        codes = [c for c in row.orgcodes.split(",") if c in wanted]
        if not codes:
            continue
        keys.append(row.pupil_key)
        pupils.append(
            {
                key: codes
                if key == AttributeKey.INSTELLINGSNUMMER
                else HELD[AttributeKey(key)](row)
                for key in checked.attributes
            }
        )
    body = {
        "ontvanger": {"naam": name, "kbo": checked.kbo},
        "aangemaakt": at.isoformat(),
        "grond": "protocol art. 4: vooraf bij DOV gemelde mededeling",
        "scholen": list(checked.schools),
        "attributen": list(checked.attributes),
        "leerlingen": pupils,
    }
    return json.dumps(body, ensure_ascii=False, indent=2).encode(), keys


def _entries(
    checked: _Checked, actor: str, export_id: int, digest: str, keys: Sequence[str]
) -> list[dict[str, Any]]:
    """Art. 6: the export's ``doorgifte`` entry, then one ``doorgegeven`` per pupil (its key,
    the recipient's KBO number, the export and the attributes; never a name)."""
    common = {"functie": checked.function, "ontvanger_kbo": checked.kbo}
    attributes = list(checked.attributes)
    summary = {**common, "aantal": len(keys), "attributen": attributes, "sha256": digest}
    each = {**common, "export": export_id, "attributen": attributes}
    return [
        {"actor": actor, "action": "doorgifte", "purpose": PURPOSE, "detail": summary},
        *(
            {
                "actor": actor,
                "action": PASSED_ON,
                "purpose": PURPOSE,
                "pupil_key": k,
                "detail": each,
            }
            for k in keys
        ),
    ]


def _write(provider: ServiceProvider, checked: _Checked, actor: str, out: Path) -> Export:
    """File, row and log entries together: the file appears only once the log holds it."""
    temporary = out.with_name(f".{out.name}.{os.getpid()}.part")
    at = dt.datetime.now(dt.UTC)
    try:
        with session_scope(provider.engine) as session:
            recipient = session.get(OnwardRecipient, checked.recipient_id)
            assert recipient is not None
            content, keys = _document(session, checked, recipient.name, at)
            digest = hashlib.sha256(content).hexdigest()
            temporary.write_bytes(content)
            row = OnwardExport(
                recipient_id=checked.recipient_id,
                at=at,
                actor=actor,
                pupils=len(keys),
                attributes=",".join(checked.attributes),
                content_sha256=digest,
            )
            session.add(row)
            session.flush()  # the export's id, for each pupil's entry
            privacy_log.append_many(session, _entries(checked, actor, row.id, digest, keys))
        os.replace(temporary, out)
    except OSError as exc:
        raise LeeridError(f"cannot write --out {out}: {exc.strerror}") from None
    finally:
        temporary.unlink(missing_ok=True)
    return Export(out, len(keys), checked.attributes, digest)


async def export(
    provider: ServiceProvider,
    rp: RelyingParty,
    *,
    kbo: str,
    actor: str,
    schools: Sequence[str],
    out: Path,
    attributes: Sequence[str] | None = None,
) -> Export:
    """Art. 4: pass the pupils of ``schools`` on to the notified recipient ``kbo``."""
    checked_kbo = kbo_option(kbo, "--recipient")
    if not out.parent.is_dir():
        raise LeeridError(f"--out {out}: the folder {out.parent} does not exist")
    checked = await asyncio.to_thread(_check, provider, checked_kbo, actor, schools, attributes)
    try:
        answer = await ask_dov(rp, checked_kbo)
    except DovUnreachableError as exc:
        await asyncio.to_thread(
            _refuse, provider, actor, checked_kbo, "dov_onbereikbaar", exc.message
        )
    await asyncio.to_thread(record_answer, provider, checked.recipient_id, answer)
    if answer:
        await asyncio.to_thread(
            _refuse,
            provider,
            actor,
            checked_kbo,
            "leerid_dienstenleverancier",
            f"DOV says KBO {checked_kbo} is a LeerID service provider: the protocol forbids "
            "passing its data on to one (art. 4)",
        )
    return await asyncio.to_thread(_write, provider, checked, actor, out)
