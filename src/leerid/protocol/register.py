"""The record of processing activities (GDPR art. 30.1) built from protocol files.

Art. 6 of the protocol (measure ``m-register``): each party keeps a register of processing
activities. One entry per protocol, seen from one party: the recipient's processing of the
data it receives (default), or the discloser's communication of it.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import asdict, dataclass
from enum import StrEnum

from leerid.csv_safe import SafeWriter
from leerid.protocol.canonical import content_hash
from leerid.protocol.lifecycle import STATUS_DUTCH, status
from leerid.protocol.model import Condition, PartyRole, Protocol
from leerid.protocol.release import allowed_scopes
from leerid.protocol.render import CATEGORY_HEADINGS

NOT_STATED = "niet vermeld in het protocol"


class RegisterFormat(StrEnum):
    MD = "md"
    CSV = "csv"
    JSON = "json"


@dataclass(frozen=True)
class ProcessingRecord:
    """One entry of the register, with the headings of GDPR art. 30.1 (a) to (g)."""

    protocol_id: str
    protocol_version: str
    content_hash: str
    status: str
    activity: str
    controller: str  # art. 30.1 (a)
    controller_representative: str  # art. 30.1 (a)
    dpo: str  # art. 30.1 (a)
    purposes: str  # art. 30.1 (b)
    legal_basis: str
    data_subjects: str  # art. 30.1 (c)
    data_categories: tuple[str, ...]  # art. 30.1 (c)
    recipients: tuple[str, ...]  # art. 30.1 (d)
    transfers: str  # art. 30.1 (e)
    retention: str  # art. 30.1 (f)
    security_measures: tuple[str, ...]  # art. 30.1 (g)


def _data_categories(protocol: Protocol) -> tuple[str, ...]:
    """Art. 3: the attributes; the INSZ noted as not received without a decretal basis."""
    rows = []
    releasable = allowed_scopes(protocol)
    for attribute in protocol.data.attributes:
        text = f"{attribute.name} ({CATEGORY_HEADINGS[attribute.category].lower()})"
        if Condition.DECRETAL_BASIS in attribute.conditions and "rrn" not in releasable:
            text += ": niet meegedeeld, geen decretale basis"
        elif Condition.IDENTIFIED_PUPIL in attribute.conditions:
            text += ": enkel voor geïdentificeerde leerlingen"
        rows.append(text)
    return tuple(rows)


@dataclass(frozen=True)
class OwnRecipients:
    """What only the party itself knows: its processors and, for the recipient, the onward
    recipients DOV was told of (art. 4); GDPR art. 4.9 counts both as recipients."""

    processors: tuple[str, ...] = ()
    onward: tuple[str, ...] = ()


ONWARD_RULE = (
    "verdere mededeling enkel na voorafgaande melding aan DOV; nooit aan andere "
    "dienstenleveranciers die (willen) aansluiten op LeerID (art. 4)"
)


@dataclass(frozen=True)
class _Side:
    """The headings that differ between the recipient's and the discloser's register."""

    activity: str
    purposes: str
    legal_basis: str
    recipients: tuple[str, ...]
    retention: str


def _recipient_side(protocol: Protocol, known: OwnRecipients) -> _Side:
    retention = protocol.data.retention
    return _Side(
        activity=f"Ontvangst en verwerking van gegevens uit LeerID ({protocol.id})",
        purposes=protocol.purposes.recipient,
        legal_basis=f"AVG art. {protocol.legal_basis.gdpr_article}: {protocol.legal_basis.text}",
        recipients=(
            *(
                f"{r.label} (rol {r.id}, {r.article})"
                for r in protocol.recipients.roles
                if r.sees_pupil_data
            ),
            *(f"verwerker: {p}" for p in known.processors),
            *(f"verdere mededeling (art. 4): {o}" for o in known.onward),
            ONWARD_RULE,
        ),
        retention=(
            f"{retention.period} ({retention.period.dutch()})"
            + ("; enkel de gegevens van de laatste aanmelding" if retention.last_login_only else "")
            + f"; inactieve accounts verwijderd na {retention.inactive_account_deletion}"
            + "; zonder inschrijving geen toegang (art. 3)"
        ),
    )


def _discloser_side(protocol: Protocol, known: OwnRecipients) -> _Side:
    discloser, recipient = protocol.parties.discloser, protocol.parties.recipient
    period = protocol.data.retention.period
    return _Side(
        activity=f"Mededeling van gegevens via LeerID aan {recipient.name} ({protocol.id})",
        purposes=protocol.purposes.discloser,
        legal_basis=(
            f"{protocol.legal_frame.article} van het {protocol.legal_frame.decree} "
            f"(protocol van {protocol.date.isoformat()})"
        ),
        recipients=(
            f"{recipient.name} (KBO {recipient.enterprise_number})",
            *(f"verwerker: {p}" for p in known.processors),
        ),
        retention=(
            f"bij de ontvanger: {period} ({period.dutch()}); "
            f"bij {discloser.short_name}: {NOT_STATED}"
        ),
    )


def processing_record(
    protocol: Protocol,
    party: PartyRole,
    at: dt.datetime,
    own_recipients: OwnRecipients | None = None,
) -> ProcessingRecord:
    """The register entry for ``protocol`` in the register of ``party``."""
    known = own_recipients or OwnRecipients()
    is_recipient = party is PartyRole.RECIPIENT
    own = protocol.parties.recipient if is_recipient else protocol.parties.discloser
    dpo_text = ", ".join(x for x in (own.dpo.name, own.dpo.contact) if x) or NOT_STATED
    side = (_recipient_side if is_recipient else _discloser_side)(protocol, known)
    return ProcessingRecord(
        protocol_id=protocol.id,
        protocol_version=protocol.version,
        content_hash=content_hash(protocol),
        status=status(protocol, at).value,
        activity=side.activity,
        controller=f"{own.name} (KBO {own.enterprise_number}), {own.address}",
        controller_representative=", ".join(r.name for r in own.representatives),
        dpo=dpo_text,
        purposes=side.purposes,
        legal_basis=side.legal_basis,
        data_subjects=protocol.data_subjects,
        data_categories=_data_categories(protocol),
        recipients=side.recipients,
        transfers="geen doorgifte aan derde landen of internationale organisaties vermeld in "
        "het protocol (art. 4: verdere mededeling enkel na melding aan DOV)",
        retention=side.retention,
        security_measures=tuple(
            f"{m.id}: {m.text}" for m in protocol.security.measures if party in m.applies_to
        ),
    )


LABELS = {
    "protocol_id": "Protocol",
    "protocol_version": "Versie",
    "content_hash": "Inhoudshash (SHA-256)",
    "status": "Status",
    "activity": "Verwerkingsactiviteit",
    "controller": "Verwerkingsverantwoordelijke (art. 30.1.a)",
    "controller_representative": "Vertegenwoordiger",
    "dpo": "Functionaris voor gegevensbescherming",
    "purposes": "Doeleinden (art. 30.1.b)",
    "legal_basis": "Rechtsgrond",
    "data_subjects": "Categorieën van betrokkenen (art. 30.1.c)",
    "data_categories": "Categorieën van persoonsgegevens (art. 30.1.c)",
    "recipients": "Ontvangers (art. 30.1.d)",
    "transfers": "Doorgifte (art. 30.1.e)",
    "retention": "Bewaartermijnen (art. 30.1.f)",
    "security_measures": "Beveiligingsmaatregelen (art. 30.1.g)",
}


def _readable(key: str, value: object) -> object:
    """A value as the register's Dutch reader reads it (the status in words)."""
    return STATUS_DUTCH.get(str(value), value) if key == "status" else value


def _md(records: list[ProcessingRecord], party: PartyRole) -> str:
    who = "ontvanger" if party is PartyRole.RECIPIENT else "verstrekker"
    out = [f"# Register van verwerkingsactiviteiten (AVG art. 30), als {who}", ""]
    for record in records:
        out += [f"## {record.activity}", ""]
        for key, value in asdict(record).items():
            if key == "activity":
                continue
            if isinstance(value, tuple | list):
                out.append(f"- **{LABELS[key]}**:")
                out += [f"  - {item}" for item in value]
            else:
                out.append(f"- **{LABELS[key]}**: {_readable(key, value)}")
        out.append("")
    return "\n".join(out)


def _csv(records: list[ProcessingRecord]) -> str:
    buffer = io.StringIO()
    writer = SafeWriter(buffer, lineterminator="\n")
    writer.writerow(LABELS.keys())
    for record in records:
        writer.writerow(
            "; ".join(v) if isinstance(v, tuple | list) else _readable(k, v)
            for k, v in asdict(record).items()
        )
    return buffer.getvalue()


def render_register(
    protocols: list[Protocol],
    fmt: RegisterFormat | str,
    party: PartyRole,
    at: dt.datetime,
    own_recipients: OwnRecipients | None = None,
) -> str:
    """The register of ``party`` for ``protocols`` as Markdown, CSV or JSON."""
    records = [processing_record(p, party, at, own_recipients) for p in protocols]
    fmt = RegisterFormat(fmt)
    if fmt is RegisterFormat.MD:
        return _md(records, party)
    if fmt is RegisterFormat.CSV:
        return _csv(records)
    payload = {
        "party": party.value,
        "generated_at": at.isoformat(),
        "records": [asdict(r) for r in records],
    }
    return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"
