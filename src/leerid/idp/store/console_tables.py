"""The tables of DOV's console (issue 13, migration ``0013_idp_console``).

- ``idp_staff``: DOV's own staff accounts for ``/beheer`` (roles ``operator`` and ``dpo``),
  Argon2id hashes, and the art. 6 dates (confidentiality signed, awareness training) without
  which no pupil data is shown.
- ``idp_staff_log`` and ``idp_staff_log_head``: the privacy log of what DOV's staff read of
  pupil data (art. 6), hash-chained as the recipient's (``leerid.duties.hash_chain``).
- ``idp_breach`` and ``idp_breach_update``: DOV's own breach register (art. 9, GDPR art.
  33), the same columns as the recipient's, kept by the shared ``leerid.duties`` code.
- ``idp_disclosure_day`` and ``idp_disclosure_hour``: disclosures counted per client and
  day (Europe/Brussels) and per UTC hour, kept by the transparency log's integrator as it
  integrates each entry, so a chart never counts the disclosure log itself.
- ``idp_disclosure_rollup``: one row: when the counts were last rebuilt from the log.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from leerid.store.base import Base

__all__ = [
    "DisclosureDay",
    "DisclosureHour",
    "DisclosureRollup",
    "DovBreach",
    "DovBreachUpdate",
    "StaffLogEntry",
    "StaffLogHead",
    "StaffMember",
]

_MOMENT = DateTime(timezone=True)
_BIGINT_ID = BigInteger().with_variant(Integer, "sqlite")


class StaffMember(Base):
    """Art. 6: a member of DOV's staff with a console role (``operator`` or ``dpo``)."""

    __tablename__ = "idp_staff"

    username: Mapped[str] = mapped_column(String(80), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(_MOMENT)
    confidentiality_signed_on: Mapped[dt.date | None] = mapped_column(Date)
    awareness_trained_on: Mapped[dt.date | None] = mapped_column(Date)


class StaffLogEntry(Base):
    """Art. 6: one read of pupil data by DOV's staff, chained to the previous entry."""

    __tablename__ = "idp_staff_log"

    seq: Mapped[int] = mapped_column(_BIGINT_ID, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(_MOMENT, index=True)
    actor: Mapped[str] = mapped_column(String(80), index=True)
    action: Mapped[str] = mapped_column(String(40))
    pupil_key: Mapped[str | None] = mapped_column(String(36), index=True)
    purpose: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str] = mapped_column(Text)  # canonical JSON, never names, INSZ or tokens
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class StaffLogHead(Base):
    """The newest entry's number and hash: serialises appends and reveals a removed tail."""

    __tablename__ = "idp_staff_log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(_BIGINT_ID)
    entry_hash: Mapped[str] = mapped_column(String(64))


class DovBreach(Base):
    """Art. 9, GDPR art. 33: a breach at DOV, with its clocks from discovery."""

    __tablename__ = "idp_breach"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    discovered_at: Mapped[dt.datetime] = mapped_column(_MOMENT)
    recorded_at: Mapped[dt.datetime] = mapped_column(_MOMENT)
    description: Mapped[str] = mapped_column(Text)
    categories: Mapped[str] = mapped_column(String(400))
    pupils_affected: Mapped[int] = mapped_column(Integer)
    measures: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    other_party_notified_at: Mapped[dt.datetime | None] = mapped_column(_MOMENT)
    authority_notified_at: Mapped[dt.datetime | None] = mapped_column(_MOMENT)
    # GDPR art. 33.1, 33.5: the supervisory authority's reference, or why it was not told
    authority_reference: Mapped[str | None] = mapped_column(String(200))
    authority_not_needed: Mapped[str | None] = mapped_column(Text)
    # which recipients (client ids, space-separated) the breach concerns; empty: all
    clients: Mapped[str] = mapped_column(String(2000), default="", server_default="")


class DovBreachUpdate(Base):
    """GDPR art. 33.4: information given in phases, each update kept."""

    __tablename__ = "idp_breach_update"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    breach_id: Mapped[int] = mapped_column(Integer, ForeignKey("idp_breach.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(_MOMENT)
    text: Mapped[str] = mapped_column(Text)
    notified: Mapped[bool] = mapped_column(Boolean, default=False)


class DisclosureDay(Base):
    """Issue 13: disclosures per Brussels day, client, protocol, endpoint and outcome."""

    __tablename__ = "idp_disclosure_day"
    __table_args__ = (Index("ix_idp_disclosure_day_client_day", "client_id", "day"),)

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    protocol_id: Mapped[str] = mapped_column(String(100), primary_key=True)  # "" for none
    endpoint: Mapped[str] = mapped_column(String(32), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)


class DisclosureHour(Base):
    """Issue 13: disclosures per UTC hour (its first moment), client, endpoint, outcome."""

    __tablename__ = "idp_disclosure_hour"

    hour: Mapped[dt.datetime] = mapped_column(_MOMENT, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(32), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)


class DisclosureRollup(Base):
    """One row (id 1): when the counts were last rebuilt from the integrated entries."""

    __tablename__ = "idp_disclosure_rollup"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    rebuilt_at: Mapped[dt.datetime | None] = mapped_column(_MOMENT)
    rebuilt_to_size: Mapped[int] = mapped_column(BigInteger, default=0)
