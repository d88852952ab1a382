"""The tables of login hardening: failed-login counters (throttling) and activation codes.

Neither table holds a username, an address or a code in clear: throttle rows are keyed by a
keyed hash of the username or the address, activation rows keep only a hash of the code.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from leerid.store.base import Base


class LoginThrottleRow(Base):
    """Failed logins for one account name or one network address, within the window.

    ``key`` is a keyed SHA-256 of the scope and the value (see ``leerid.idp.login.throttle``);
    the row is forgotten once the window after ``last_failure_at`` has passed.
    """

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    scope: Mapped[str] = mapped_column(String(8))  # "account" or "address"
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    pending: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Attempts reserved and not yet settled (issue 8 §5, ``leerid.store.attempts``)."""
    pending_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    """When the last of them was reserved: older reservations no longer count."""


class ActivationCodeRow(Base):
    """The one live activation code of an account: only its hash, and when it expires.

    One row per account: issuing a new code (``leerid accounts reset``) replaces the row,
    so the old code is void; activating deletes it (one-time use).
    """

    __tablename__ = "activation_code"

    account_uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
