"""The service provider's own database: its tables, on its own metadata.

A service provider is another organisation with its own database; nothing here shares the
Department's schema (``leerid.store.base.Base``). Migrations live in ``sp/migrations``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column

from leerid.sp.kit import log_tables  # noqa: F401  (the log's tables, on the same metadata)
from leerid.sp.kit.model_base import Moment
from leerid.sp.kit.model_base import SPBase as SPBase  # its home before model_base
from leerid.sp.kit.name_search import name_key

MIGRATIONS = Path(__file__).with_name("migrations")


class PupilRecord(SPBase):
    """Art. 3: one row per pupil, holding only the data of the last login (overwritten)."""

    __tablename__ = "sp_pupil"

    pupil_key: Mapped[str] = mapped_column(String(36), primary_key=True)
    key_kind: Mapped[str] = mapped_column(String(12))  # "leer_id_uuid" or "account_uuid"
    account_uuid: Mapped[str] = mapped_column(String(36))
    given_name: Mapped[str | None] = mapped_column(String(200))
    family_name: Mapped[str | None] = mapped_column(String(200))
    orgcodes: Mapped[str] = mapped_column(String(400))  # comma-separated instellingsnummers
    last_login_at: Mapped[dt.datetime] = mapped_column(Moment, index=True)
    # Art. 4: the names folded for the staff's search (``name_search``), kept in step below
    search_name: Mapped[str | None] = mapped_column(String(420))


@event.listens_for(PupilRecord, "before_insert")
@event.listens_for(PupilRecord, "before_update")
def _fold_names(_mapper: object, _connection: object, record: PupilRecord) -> None:
    """Every record the ORM writes carries its folded names (the Core copies in
    ``pupil_batches`` move ``search_name`` along with the names)."""
    record.search_name = name_key(record.given_name, record.family_name)


def _new_dossier_key() -> str:
    """A new dossier's internal key: random, never derived from a LeerID key (art. 3)."""
    return str(uuid.uuid4())


class DossierEntry(SPBase):
    """What the CLB records about a pupil (LARS: an activity note); moves on identification.

    Art. 3: the dossier is the CLB's own record, not the disclosed data: ``dossier_key`` (a
    random UUID per pupil, never derived from a LeerID key) keeps it together after the
    three-year purge sets ``pupil_key`` to NULL; its own retention runs per ``record_type``.
    """

    __tablename__ = "sp_dossier_entry"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pupil_key: Mapped[str | None] = mapped_column(String(36), index=True)
    dossier_key: Mapped[str] = mapped_column(String(36), index=True, default=_new_dossier_key)
    record_type: Mapped[str] = mapped_column(
        String(40), default="activiteit", server_default="activiteit"
    )
    created_at: Mapped[dt.datetime] = mapped_column(Moment)
    author: Mapped[str] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)


class QualityReport(SPBase):
    """Art. 7: a report of wrong or outdated data sent to the Department, with its status."""

    __tablename__ = "sp_quality_report"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    remote_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    pupil_key: Mapped[str | None] = mapped_column(String(36), index=True)  # NULL after art. 3
    attribute: Mapped[str] = mapped_column(String(40))
    problem: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    resolution: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(Moment)
    updated_at: Mapped[dt.datetime] = mapped_column(Moment)


class StaffAccount(SPBase):
    """Art. 4: a member of staff with one role of the protocol's recipients."""

    __tablename__ = "sp_staff"

    username: Mapped[str] = mapped_column(String(80), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(Moment)
    confidentiality_signed_on: Mapped[dt.date | None] = mapped_column(Date)
    awareness_trained_on: Mapped[dt.date | None] = mapped_column(Date)
    # Art. 4, second indent: the function profile (``[profiles.*]`` in the configuration)
    # says which disclosed attributes this person needs; ``schools`` (comma-separated
    # instellingsnummers) which pupils: those of the schools their CLB serves.
    function_profile: Mapped[str | None] = mapped_column(String(40))
    schools: Mapped[str] = mapped_column(String(2000), default="", server_default="")


class PrivacyLogEntry(SPBase):
    """Art. 6: one entry of the privacy log, chained to the previous one by its hash."""

    __tablename__ = "sp_privacy_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(Moment, index=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    pupil_key: Mapped[str | None] = mapped_column(String(36), index=True)
    purpose: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text)  # canonical JSON, never names or tokens
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class PrivacyLogHead(SPBase):
    """The newest entry's number and hash: serialises appends and reveals a removed tail."""

    __tablename__ = "sp_privacy_log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    entry_hash: Mapped[str] = mapped_column(String(64))


class LogPruneRecord(SPBase):
    """Art. 6 (log management): a signed record of a pruned stretch of the privacy log."""

    __tablename__ = "sp_log_prune"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(Moment)
    first_seq: Mapped[int] = mapped_column(Integer)
    last_seq: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
    last_hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(200))


class Breach(SPBase):
    """Art. 9, GDPR art. 33: a personal data breach, with its 72-hour clock from discovery."""

    __tablename__ = "sp_breach"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    discovered_at: Mapped[dt.datetime] = mapped_column(Moment)
    recorded_at: Mapped[dt.datetime] = mapped_column(Moment)
    description: Mapped[str] = mapped_column(Text)
    categories: Mapped[str] = mapped_column(String(400))
    pupils_affected: Mapped[int] = mapped_column(Integer)
    measures: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    other_party_notified_at: Mapped[dt.datetime | None] = mapped_column(Moment)
    authority_notified_at: Mapped[dt.datetime | None] = mapped_column(Moment)
    # GDPR art. 33.1, 33.5: the supervisory authority's reference, or why it was not told
    authority_reference: Mapped[str | None] = mapped_column(String(200))
    authority_not_needed: Mapped[str | None] = mapped_column(Text)


class BreachUpdate(SPBase):
    """GDPR art. 33.4: information given in phases, each update kept."""

    __tablename__ = "sp_breach_update"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    breach_id: Mapped[int] = mapped_column(Integer, ForeignKey("sp_breach.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(Moment)
    text: Mapped[str] = mapped_column(Text)
    notified: Mapped[bool] = mapped_column(Boolean, default=False)


class StaffLoginThrottleRow(SPBase):
    """Issue 8 §5, §10: failed staff logins per account and per address, shared by every
    portal process; keyed by an HMAC of the name or address, never the value itself."""

    __tablename__ = "sp_login_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    scope: Mapped[str] = mapped_column(String(8))  # "account" or "address"
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[dt.datetime] = mapped_column(Moment, index=True)
    locked_until: Mapped[dt.datetime | None] = mapped_column(Moment)
    pending: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pending_at: Mapped[dt.datetime | None] = mapped_column(Moment)


class DovReport(SPBase):
    """Art. 7: a data-quality report the Department sent us (its own, or a pupil's through it),
    with our answer."""

    __tablename__ = "sp_dov_report"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)  # DOV's code, e.g. DQ-7K3M2P
    pupil_key: Mapped[str | None] = mapped_column(String(36), index=True)  # NULL after art. 3
    attribute: Mapped[str] = mapped_column(String(40))
    problem: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(10))  # dov | pupil
    reported_at: Mapped[dt.datetime] = mapped_column(Moment)
    received_at: Mapped[dt.datetime] = mapped_column(Moment)
    answer_status: Mapped[str | None] = mapped_column(String(20))
    answer_text: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[dt.datetime | None] = mapped_column(Moment)
    answered_by: Mapped[str | None] = mapped_column(String(80))


class SentNotice(SPBase):
    """Art. 9: a notice we sent the Department (a change in law or of processors)."""

    __tablename__ = "sp_notice"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(12))  # wetgeving | verwerkers
    text: Mapped[str] = mapped_column(Text)
    processors: Mapped[str | None] = mapped_column(Text)  # JSON list (verwerkers)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(Moment)
    remote_id: Mapped[str | None] = mapped_column(String(36), unique=True)  # DOV's id
    sent_at: Mapped[dt.datetime | None] = mapped_column(Moment)
    mailed_at: Mapped[dt.datetime | None] = mapped_column(Moment)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(Moment)


class ProcessorRequest(SPBase):
    """Art. 6: the Department asked for our processor list; a ``verwerkers`` notice answers."""

    __tablename__ = "sp_processor_request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    txn: Mapped[str | None] = mapped_column(String(40), unique=True)  # the SET's txn
    requested_at: Mapped[dt.datetime] = mapped_column(Moment)
    received_at: Mapped[dt.datetime] = mapped_column(Moment)
    answered_by: Mapped[int | None] = mapped_column(Integer)  # sp_notice.id


class AppliedEvent(SPBase):
    """Issue 10 point 4: a Security Event Token applied here, by its ``jti`` (RFC 8417), so a
    repeat is acknowledged but not applied twice; kept as long as ``[events] max_age``."""

    __tablename__ = "sp_applied_event"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    txn: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(120))
    applied_at: Mapped[dt.datetime] = mapped_column(Moment, index=True)


class SignedProtocolVersion(SPBase):
    """Art. 11: a protocol version both parties signed, as the Department announced it; the
    kit judges the protocol from the newest one in force, never from a local file."""

    __tablename__ = "sp_protocol_version"
    __table_args__ = (UniqueConstraint("protocol_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    protocol_id: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    content_sha256: Mapped[str] = mapped_column(String(64))
    in_force_from: Mapped[dt.datetime] = mapped_column(Moment)
    signatures: Mapped[str] = mapped_column(Text)  # JSON: [{party, signer, kind, signed_at}]
    text: Mapped[str] = mapped_column(Text)
    received_at: Mapped[dt.datetime] = mapped_column(Moment)


class ProtocolOutOfStep(SPBase):
    """Art. 11: an announced version whose text does not match its signed hash, or lacks a
    party's signature: the protocol is out of step until a matching newer version comes."""

    __tablename__ = "sp_protocol_out_of_step"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    protocol_id: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    content_sha256: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    received_at: Mapped[dt.datetime] = mapped_column(Moment)


class ProtocolEnd(SPBase):
    """Art. 8 (termination by DOV) or art. 11 (end of term or of the legal basis): final."""

    __tablename__ = "sp_protocol_end"

    protocol_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # terminated | ended
    ground: Mapped[str] = mapped_column(String(20))  # sanction | term | legal-basis
    reason: Mapped[str] = mapped_column(Text)
    effective_at: Mapped[dt.datetime] = mapped_column(Moment)
    received_at: Mapped[dt.datetime] = mapped_column(Moment)


class EventsState(SPBase):
    """One row: who polls now (a lease, so two processes never poll at once) and the last
    successful sync, shown on the DPO's page and ``/healthz``."""

    __tablename__ = "sp_events_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    lease_holder: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[dt.datetime | None] = mapped_column(Moment)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(Moment)
    last_success_at: Mapped[dt.datetime | None] = mapped_column(Moment)
    last_error: Mapped[str | None] = mapped_column(String(400))


class OnwardRecipient(SPBase):
    """Art. 4: a party we may pass data on to, once DOV was notified beforehand; never
    another LeerID service provider (DOV's client registry decides, by KBO number)."""

    __tablename__ = "sp_onward_recipient"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    kbo: Mapped[str] = mapped_column(String(12), unique=True)  # 0123.456.789
    purpose: Mapped[str] = mapped_column(Text)
    legal_basis: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(Moment)
    notice_id: Mapped[int | None] = mapped_column(Integer)  # sp_notice.id of the notice
    notified_at: Mapped[dt.datetime | None] = mapped_column(Moment)  # DOV received it
    leerid_service_provider: Mapped[bool | None] = mapped_column(Boolean)  # DOV's answer
    checked_at: Mapped[dt.datetime | None] = mapped_column(Moment)


class OnwardExport(SPBase):
    """Art. 4: one export to an onward recipient: who, when, how many pupils, which fields."""

    __tablename__ = "sp_onward_export"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    recipient_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("sp_onward_recipient.id"), index=True
    )
    at: Mapped[dt.datetime] = mapped_column(Moment)
    actor: Mapped[str] = mapped_column(String(80))
    pupils: Mapped[int] = mapped_column(Integer)
    attributes: Mapped[str] = mapped_column(String(400))  # comma-separated attribute keys
    content_sha256: Mapped[str] = mapped_column(String(64))


class RiskAssessment(SPBase):
    """Art. 6: "werd een risico-inschatting gemaakt. Voor elk risico werd een gepaste ...
    maatregel genomen": one assessed risk, its measures, the date and the owner."""

    __tablename__ = "sp_risk_assessment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    risk: Mapped[str] = mapped_column(Text)
    measures: Mapped[str] = mapped_column(Text)
    assessed_on: Mapped[dt.date] = mapped_column(Date)
    owner: Mapped[str] = mapped_column(String(200))
    recorded_by: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[dt.datetime] = mapped_column(Moment)
