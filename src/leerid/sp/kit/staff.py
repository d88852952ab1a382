"""Staff accounts and their roles, taken from the protocol's recipients (art. 4)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from prometheus_client import Counter
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from leerid.errors import LeeridError, NotFoundError
from leerid.passwords_unicode import normalise_password, password_forms
from leerid.protocol import Protocol, RecipientRole
from leerid.sp.kit.models import StaffAccount
from leerid.store.engine import session_scope

# OWASP's Argon2id parameters: 19 MiB, 2 passes, parallelism 1
PASSWORD_CHECKS = Counter(
    "leerid_sp_staff_password_checks_total",
    "Staff passwords compared with a hash (issue 8 §5: bounded per account by the throttle)",
)
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)
_DUMMY = HASHER.hash("niet-bestaand-account")
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,79}$")
RESERVED = frozenset({"leerling", "systeem"})
"""Art. 6: the privacy log's actors that are no member of staff (the pupil, the system)."""
MIN_PASSWORD = 12


@dataclass(frozen=True)
class Permissions:
    """What a role may see, as the protocol's recipients define it."""

    role: str
    label: str
    sees_pupil_data: bool
    sees_privacy_log: bool


def permissions(protocol: Protocol, role_id: str) -> Permissions:
    """Art. 4: only the roles the protocol names; what each may see comes from the protocol."""
    role: RecipientRole | None = protocol.role(role_id)
    if role is None:
        return Permissions(role_id, role_id, False, False)
    return Permissions(role.id, role.label, role.sees_pupil_data, role.sees_privacy_log)


def add_staff(
    engine: Engine,
    protocol: Protocol,
    username: str,
    password: str,
    role: str,
    *,
    confidentiality_signed_on: dt.date | None = None,
    awareness_trained_on: dt.date | None = None,
    function_profile: str | None = None,
    schools: Iterable[str] = (),
    session: Session | None = None,
) -> None:
    """Create a staff account with an Argon2id password hash and a role of the protocol
    (the profile and the schools are checked by ``staff_admin``, which calls this); in
    ``session`` when given, so that its privacy-log entry commits with it (art. 6)."""
    if protocol.role(role) is None:
        raise LeeridError(
            f"role {role!r} is not a recipient role of protocol {protocol.id}; use one of "
            + ", ".join(r.id for r in protocol.roles)
        )
    if not _USERNAME.match(username):
        raise LeeridError(
            f"username {username!r}: use 2-80 lower-case letters, digits, '.', '_' or '-'"
        )
    if username in RESERVED:  # else a staff act would read as the pupil's or the system's
        raise LeeridError(f"username {username!r} is reserved for the privacy log; pick another")
    password = normalise_password(password)  # NIST SP 800-63B §5.1.1.2 (issue 8 §9)
    if len(password) < MIN_PASSWORD:
        raise LeeridError(f"the password must have at least {MIN_PASSWORD} characters")
    account = StaffAccount(
        username=username,
        password_hash=HASHER.hash(password),
        role=role,
        active=True,
        created_at=dt.datetime.now(dt.UTC),
        confidentiality_signed_on=confidentiality_signed_on,
        awareness_trained_on=awareness_trained_on,
        function_profile=function_profile,
        schools=",".join(sorted(set(schools))),
    )
    if session is not None:
        _insert(session, account)
        return
    with session_scope(engine) as own:
        _insert(own, account)


def _insert(session: Session, account: StaffAccount) -> None:
    if session.get(StaffAccount, account.username) is not None:
        raise LeeridError(f"staff account {account.username!r} exists already")
    session.add(account)
    session.flush()


def authenticate(engine: Engine, username: str, password: str) -> StaffAccount | None:
    """The active account for these credentials, or None; unknown names cost a hash too."""
    PASSWORD_CHECKS.inc()
    with session_scope(engine) as session:
        account = session.get(StaffAccount, username)
        if account is None or not account.active:
            for form in password_forms(password):  # the same hashes as a wrong password
                _matches(_DUMMY, form)
            return None
        ok, new_hash = check_password(account.password_hash, password)
        if not ok:
            return None
        if new_hash is not None:
            account.password_hash = new_hash
        return account


def check_password(stored_hash: str, password: str) -> tuple[bool, str | None]:
    """Whether ``password`` matches ``stored_hash``; and the hash to store instead, if any.

    Issue 8 §9 (NIST SP 800-63B §5.1.1.2): the NFKC form is tried first, the raw form only if
    it differs (a hash made before normalisation), which is then replaced; so is a hash made
    with weaker parameters.
    """
    forms = password_forms(password)
    for form in forms:
        if _matches(stored_hash, form):
            stale = form != forms[0] or HASHER.check_needs_rehash(stored_hash)
            return True, HASHER.hash(forms[0]) if stale else None
    return False, None


def _matches(stored_hash: str, password: str) -> bool:
    try:
        return bool(HASHER.verify(stored_hash, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def school_scope(account: StaffAccount) -> frozenset[str]:
    """Art. 4, second indent: the instellingsnummers whose pupils this person may see."""
    return frozenset(code for code in (account.schools or "").split(",") if code)


def get_staff(engine: Engine, username: str) -> StaffAccount | None:
    with session_scope(engine) as session:
        account = session.get(StaffAccount, username)
        return account if account is not None and account.active else None


def list_staff(engine: Engine) -> list[StaffAccount]:
    with session_scope(engine) as session:
        return list(session.scalars(select(StaffAccount).order_by(StaffAccount.username)))


def disable_staff(engine: Engine, username: str) -> None:
    with session_scope(engine) as session:
        account = session.get(StaffAccount, username)
        if account is None:
            raise NotFoundError(f"no staff account {username!r}; see `leerid sp staff list`")
        account.active = False
