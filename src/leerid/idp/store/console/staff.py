"""DOV's console accounts (art. 6, issue 13): operators and DPOs, Argon2id, the art. 6 dates.

The password hash is made by the provider's ``PasswordHasher`` (Argon2id at OWASP's cost);
this module only stores it. Every change is written in the staff privacy log in the same
transaction (``staff_log.append``): who added, disabled or dated an account, and when.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, select

from leerid.errors import LeeridError
from leerid.idp.store.console import staff_log
from leerid.idp.store.console_tables import StaffMember
from leerid.protocol.lifecycle import BRUSSELS
from leerid.store.engine import session_scope

__all__ = [
    "CONFIDENTIALITY",
    "ROLES",
    "TRAINING",
    "StaffAccount",
    "active_staff",
    "add_staff",
    "disable_staff",
    "enable_staff",
    "list_staff",
    "missing_dates",
    "password_mark",
    "set_dates",
    "set_password",
    "set_role",
    "stored_hash",
    "upgrade_hash",
]

OPERATOR, DPO = "operator", "dpo"
ROLES = (OPERATOR, DPO)
CONFIDENTIALITY = "vertrouwelijkheidsverklaring"
TRAINING = "sensibilisering"
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


@dataclass(frozen=True)
class StaffAccount:
    """One console account, without its hash."""

    username: str
    role: str
    active: bool
    created_at: dt.datetime
    confidentiality_signed_on: dt.date | None
    awareness_trained_on: dt.date | None
    mark: str = ""
    """``password_mark`` of the stored hash (filled by ``active_staff``)."""


def _account(row: StaffMember) -> StaffAccount:
    return StaffAccount(
        row.username,
        row.role,
        row.active,
        row.created_at,
        row.confidentiality_signed_on,
        row.awareness_trained_on,
    )


def normalise_username(username: str) -> str:
    """Usernames are kept in lowercase, so ``Jan`` and ``jan`` are one account."""
    return username.strip().lower()


def add_staff(
    engine: Engine, username: str, password_hash: str, role: str, *, actor: str
) -> StaffAccount:
    """Art. 6: a new active account (``role`` operator or dpo); logged as ``staff_add``."""
    username = normalise_username(username)
    if not _USERNAME.match(username):
        raise LeeridError(
            f"username {username!r}: use 2 to 64 lowercase letters, digits, '.', '_' or '-'"
        )
    if role not in ROLES:
        raise LeeridError(f"role {role!r}: give operator or dpo")
    with session_scope(engine) as session:
        if session.get(StaffMember, username) is not None:
            raise LeeridError(f"staff account {username} exists already")
        row = StaffMember(
            username=username,
            password_hash=password_hash,
            role=role,
            active=True,
            created_at=dt.datetime.now(dt.UTC),
        )
        session.add(row)
        session.flush()
        staff_log.append(
            session,
            actor=actor,
            action="staff_add",
            purpose="account aangemaakt (art. 6)",
            detail={"username": username, "role": role},
        )
        return _account(row)


def list_staff(engine: Engine) -> list[StaffAccount]:
    """Every account, active or not, by username."""
    with session_scope(engine) as session:
        rows = session.scalars(select(StaffMember).order_by(StaffMember.username))
        return [_account(row) for row in rows]


def _existing(engine: Engine, username: str) -> None:
    with session_scope(engine) as session:
        if session.get(StaffMember, normalise_username(username)) is None:
            raise LeeridError(f"no staff account {username!r}; see `leerid beheer staff list`")


def _change(
    engine: Engine,
    username: str,
    change: Callable[[StaffMember], None],
    *,
    actor: str,
    action: str,
    purpose: str,
    detail: dict[str, str] | None = None,
) -> None:
    """Art. 6: one change of an account and its staff-log entry, in one transaction."""
    _existing(engine, username)
    username = normalise_username(username)
    with session_scope(engine) as session:
        row = session.get(StaffMember, username, with_for_update=True)
        assert row is not None
        change(row)
        staff_log.append(
            session,
            actor=actor,
            action=action,
            purpose=purpose,
            detail={"username": username, **(detail or {})},
        )


def _set_active(engine: Engine, username: str, active: bool, actor: str) -> None:
    def change(row: StaffMember) -> None:
        row.active = active

    action, purpose = (
        ("staff_enable", "account opnieuw ingeschakeld (art. 6)")
        if active
        else ("staff_disable", "account uitgeschakeld (art. 6)")
    )
    _change(engine, username, change, actor=actor, action=action, purpose=purpose)


def disable_staff(engine: Engine, username: str, *, actor: str) -> None:
    """Art. 6: the account can no longer log in (its open sessions end at their next
    request: the guard reads the account on every request); logged as ``staff_disable``."""
    _set_active(engine, username, False, actor)


def enable_staff(engine: Engine, username: str, *, actor: str) -> None:
    """Art. 6: a disabled account may log in again; logged as ``staff_enable``."""
    _set_active(engine, username, True, actor)


def set_role(engine: Engine, username: str, role: str, *, actor: str) -> None:
    """Art. 4, 6: the account's role (operator or dpo), counted at its next request;
    logged as ``staff_role``."""
    if role not in ROLES:
        raise LeeridError(f"role {role!r}: give operator or dpo")

    def change(row: StaffMember) -> None:
        row.role = role

    _change(
        engine, username, change, actor=actor, action="staff_role",
        purpose="rol gewijzigd (art. 6)", detail={"role": role},
    )  # fmt: skip


def set_password(engine: Engine, username: str, password_hash: str, *, actor: str) -> None:
    """A new password (Argon2id hash); the account's open sessions end, as their mark of
    the hash no longer fits (``password_mark``); logged as ``staff_password``, no hash."""

    def change(row: StaffMember) -> None:
        row.password_hash = password_hash

    _change(
        engine, username, change, actor=actor, action="staff_password",
        purpose="wachtwoord gewijzigd (art. 6)",
    )  # fmt: skip


def password_mark(password_hash: str) -> str:
    """A short fingerprint of the stored hash, kept in the session: a new password (a new
    hash) ends every session made before it, without a column of its own."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:32]


def set_dates(
    engine: Engine,
    username: str,
    *,
    confidentiality: dt.date | None,
    training: dt.date | None,
    actor: str,
) -> StaffAccount:
    """Art. 6: record the day the confidentiality pledge was signed and the day of the
    awareness training (either may be left as it is with None); logged as ``staff_dates``."""
    if confidentiality is None and training is None:
        raise LeeridError("give --confidentiality or --training (YYYY-MM-DD)")
    _existing(engine, username)
    username = normalise_username(username)
    with session_scope(engine) as session:
        row = session.get(StaffMember, username, with_for_update=True)
        assert row is not None
        if confidentiality is not None:
            row.confidentiality_signed_on = confidentiality
        if training is not None:
            row.awareness_trained_on = training
        staff_log.append(
            session,
            actor=actor,
            action="staff_dates",
            purpose="art. 6-data vastgelegd",
            detail={
                "username": username,
                "confidentiality": str(row.confidentiality_signed_on or ""),
                "training": str(row.awareness_trained_on or ""),
            },
        )
        return _account(row)


def active_staff(engine: Engine, username: str) -> StaffAccount | None:
    """The active account ``username``, or None (unknown or disabled)."""
    with engine.connect() as conn:
        row = conn.execute(
            select(
                StaffMember.username,
                StaffMember.role,
                StaffMember.active,
                StaffMember.created_at,
                StaffMember.confidentiality_signed_on,
                StaffMember.awareness_trained_on,
                StaffMember.password_hash,
            ).where(
                StaffMember.username == normalise_username(username),
                StaffMember.active.is_(True),
            )
        ).first()
    return None if row is None else StaffAccount(*row[:-1], mark=password_mark(row[-1]))


def stored_hash(engine: Engine, username: str) -> str | None:
    """The password hash of the active account ``username`` (None: unknown or disabled)."""
    with engine.connect() as conn:
        return conn.scalar(
            select(StaffMember.password_hash).where(
                StaffMember.username == normalise_username(username),
                StaffMember.active.is_(True),
            )
        )


def upgrade_hash(engine: Engine, username: str, password_hash: str) -> None:
    """A hash made again with the current parameters, after a good password."""
    with session_scope(engine) as session:
        row = session.get(StaffMember, normalise_username(username))
        if row is not None:
            row.password_hash = password_hash


def missing_dates(account: StaffAccount, today: dt.date | None = None) -> tuple[str, ...]:
    """Art. 6: which of the two dates is not recorded, or lies in the future."""
    today = today or dt.datetime.now(BRUSSELS).date()
    missing = []
    if account.confidentiality_signed_on is None or account.confidentiality_signed_on > today:
        missing.append(CONFIDENTIALITY)
    if account.awareness_trained_on is None or account.awareness_trained_on > today:
        missing.append(TRAINING)
    return tuple(missing)
