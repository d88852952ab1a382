"""The registry's tables: pupils, DISCIMUS registrations, enrolments, accounts, credentials.

A *pupil* is one person. A pupil is identified when one of its registrations carries a valid
INSZ; only identified pupils have a ``leer_id_uuid`` (protocol art. 3). A *registration* is
one DISCIMUS reference (referte) with the fields the school sent. An *account* is an SSO key
(``account_uuid``) a pupil logs in with; ``retired`` accounts form the pupil's
``historiek_account_uuid`` (art. 3).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from leerid.store.base import Base


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


class AccountStatus(StrEnum):
    """Art. 3: a permanent account, a temporary one (no INSZ yet), or a retired one."""

    PERMANENT = "permanent"
    TEMPORARY = "temporary"
    RETIRED = "retired"


class Pupil(Base):
    """One person; identified when ``insz`` is known (then ``leer_id_uuid`` is set)."""

    __tablename__ = "pupil"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    leer_id_uuid: Mapped[str | None] = mapped_column(String(36), unique=True)
    insz: Mapped[str | None] = mapped_column(String(11), unique=True)
    naam: Mapped[str] = mapped_column(String(200))
    voornaam: Mapped[str] = mapped_column(String(200))
    geboortedatum: Mapped[dt.date] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    retired_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    """Art. 3, DOV's retention (``leerid.registry.retention``): when the pupil was found
    without an enrolment for the retention period. From then on none of its accounts logs in
    or is disclosed; after the grace period the pupil is deleted, unless an enrolment revives
    it first (the column is then cleared)."""

    __table_args__ = (
        # Only retired pupils are in it: the import writes no entry for the others.
        Index(
            "ix_pupil_retired_at",
            "retired_at",
            postgresql_where=text("retired_at IS NOT NULL"),
            sqlite_where=text("retired_at IS NOT NULL"),
        ),
    )


class Registration(Base):
    """One DISCIMUS registration (referte) as last imported; the import is its truth."""

    __tablename__ = "registration"

    referte: Mapped[str] = mapped_column(String(32), primary_key=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupil.id"), index=True)
    insz: Mapped[str | None] = mapped_column(String(11))
    naam: Mapped[str] = mapped_column(String(200))
    voornaam: Mapped[str] = mapped_column(String(200))
    geboortedatum: Mapped[dt.date] = mapped_column(Date)
    digest: Mapped[str] = mapped_column(String(32))
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Enrolment(Base):
    """An enrolment of a registration in a school (instellingsnummer, 6 digits, a string)."""

    __tablename__ = "enrolment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    referte: Mapped[str] = mapped_column(
        ForeignKey("registration.referte", ondelete="CASCADE"), index=True
    )
    instellingsnummer: Mapped[str] = mapped_column(String(6), index=True)
    administratieve_groep: Mapped[str] = mapped_column(String(6))
    begindatum: Mapped[dt.date] = mapped_column(Date)
    einddatum: Mapped[dt.date | None] = mapped_column(Date)


class EnrolmentDigest(Base):
    """Fingerprint of a registration's full list of enrolments as last imported, so that an
    unchanged list costs one lookup. A referte without enrolments has no row. A cache of the
    importer, keyed by referte (no foreign key: it is written in bulk next to the
    registration)."""

    __tablename__ = "enrolment_digest"

    referte: Mapped[str] = mapped_column(String(32), primary_key=True)
    digest: Mapped[str] = mapped_column(String(32))


class Account(Base):
    """An SSO key (``account_uuid``) of a pupil; never reused."""

    __tablename__ = "account"

    account_uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupil.id"), index=True)
    status: Mapped[str] = mapped_column(String(10))
    referte: Mapped[str | None] = mapped_column(String(32))
    """The registration a temporary account was made for (kept when it is retired)."""
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    retired_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Credential(Base):
    """The username and password hash an account logs in with (issued by the school)."""

    __tablename__ = "credential"

    account_uuid: Mapped[str] = mapped_column(ForeignKey("account.account_uuid"), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class InszHistory(Base):
    """An INSZ a pupil had before (a BIS number replaced by a national register number)."""

    __tablename__ = "insz_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pupil_id: Mapped[int] = mapped_column(ForeignKey("pupil.id"), index=True)
    insz: Mapped[str] = mapped_column(String(11), index=True)
    replaced_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MergeRecord(Base):
    """The audit record of a manual merge of two pupils (``leerid registry merge``)."""

    __tablename__ = "merge_record"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    merged_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    kept_leer_id_uuid: Mapped[str] = mapped_column(String(36))
    absorbed_leer_id_uuid: Mapped[str] = mapped_column(String(36), unique=True)
    operator: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)


class ImportRun(Base):
    """Issue 13: one DISCIMUS import as the console shows it: when, how long, what it did,
    and its rejects file (gzip, at most ``MAX_REJECTS_BYTES``; the lines and reasons the
    importer wrote, never more than the files held)."""

    __tablename__ = "registry_import_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    finished_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    files: Mapped[str] = mapped_column(String(1000))  # the files' names, without folders
    outcome: Mapped[str] = mapped_column(String(16))  # "imported" | "failed"
    error: Mapped[str | None] = mapped_column(Text)  # the importer's message when it failed
    registrations_created: Mapped[int] = mapped_column(Integer, default=0)
    registrations_updated: Mapped[int] = mapped_column(Integer, default=0)
    registrations_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    pupils_identified: Mapped[int] = mapped_column(Integer, default=0)
    accounts_created: Mapped[int] = mapped_column(Integer, default=0)
    accounts_retired: Mapped[int] = mapped_column(Integer, default=0)
    enrolments_written: Mapped[int] = mapped_column(Integer, default=0)
    rejects: Mapped[int] = mapped_column(Integer, default=0)
    rejects_gzip: Mapped[bytes | None] = mapped_column(LargeBinary)


MAX_REJECTS_BYTES = 8 * 1024 * 1024
"""The largest gzip of a rejects file kept with an import run (larger: kept on disk only)."""
