"""Credentials from the school: usernames and one-time activation codes.

Issue 4 §4: ``leerid accounts issue`` gives each pupil of a school without credentials a
username and a one-time activation code, valid 30 days; ``leerid accounts reset`` issues a
new code and voids the old one. Only a hash of a code is stored; the school's CSV is the
only place a code appears in clear. Codes carry 80 random bits, so a plain SHA-256 (bound to
the account) protects them; they are compared in constant time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.orm import Session

from leerid.errors import LeeridError, NotFoundError
from leerid.idp.store.login_tables import ActivationCodeRow
from leerid.registry.lookup import active_on
from leerid.registry.models import (
    Account,
    AccountStatus,
    Credential,
    Enrolment,
    Pupil,
    Registration,
)

__all__ = [
    "CODE_VALIDITY",
    "Activation",
    "IssuedCredential",
    "code_hash",
    "codes_match",
    "complete_activation",
    "find_activation",
    "issue_for_school",
    "new_code",
    "normalise_code",
    "propose_username",
    "reset_code",
]

CODE_VALIDITY = dt.timedelta(days=30)
"""Issue 4 §4: an activation code is valid 30 days."""

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
_CODE_GROUPS = 4
_GROUP = 4
_CHUNK = 500
_LOOKALIKES = str.maketrans("OIL", "011")


@dataclass(frozen=True)
class IssuedCredential:
    """One line of the school's CSV: who, the username, the code in clear, until when."""

    account_uuid: str
    naam: str
    voornaam: str
    administratieve_groep: str
    username: str
    code: str
    valid_until: dt.datetime


@dataclass(frozen=True)
class Activation:
    """The live activation code of a username, as stored (hash only)."""

    account_uuid: str
    code_hash: str
    expires_at: dt.datetime


def new_code() -> str:
    """A fresh code: 16 Crockford base32 characters (80 bits), e.g. ``K7QH-3MZP-X9TA-2WRC``."""
    chars = "".join(secrets.choice(_ALPHABET) for _ in range(_CODE_GROUPS * _GROUP))
    return "-".join(chars[i : i + _GROUP] for i in range(0, len(chars), _GROUP))


def normalise_code(typed: str) -> str:
    """A code as a pupil may type it: any case, spaces or dashes, O for 0, I or L for 1."""
    cleaned = unicodedata.normalize("NFKC", typed).upper()
    cleaned = "".join(c for c in cleaned if c not in " -\t")
    return cleaned.translate(_LOOKALIKES)


def code_hash(account_uuid: str, code: str) -> str:
    """The stored form of a code: SHA-256 over the account and the normalised code."""
    message = f"leerid activation code\x00{account_uuid}\x00{normalise_code(code)}"
    return hashlib.sha256(message.encode()).hexdigest()


def codes_match(stored_hash: str, account_uuid: str, typed: str) -> bool:
    """Whether ``typed`` is the code behind ``stored_hash``, compared in constant time."""
    return hmac.compare_digest(stored_hash, code_hash(account_uuid, typed))


def _ascii_letters(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if "a" <= c <= "z")


def propose_username(voornaam: str, naam: str) -> str:
    """``voornaam.n1234``: first name and initial in plain letters, four random digits.

    Easy for a child to type; no INSZ, birth date or school number in it.
    """
    first = _ascii_letters(voornaam)[:16] or "leerling"
    initial = (_ascii_letters(naam) or "x")[0]
    return f"{first}.{initial}{secrets.randbelow(10_000):04d}"


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _unique_usernames(session: Session, people: Sequence[tuple[str, str]]) -> list[str]:
    """One new username per (voornaam, naam), none already taken, none twice."""
    chosen: list[str | None] = [None] * len(people)
    taken: set[str] = set()
    for _attempt in range(50):
        open_slots = [i for i, name in enumerate(chosen) if name is None]
        if not open_slots:
            break
        proposals = {i: propose_username(*people[i]) for i in open_slots}
        wanted = sorted(set(proposals.values()) - taken)
        for chunk in _chunks(wanted):
            taken |= set(
                session.scalars(select(Credential.username).where(Credential.username.in_(chunk)))
            )
        for i, name in proposals.items():
            if name not in taken:
                chosen[i] = name
                taken.add(name)
    if any(name is None for name in chosen):
        raise LeeridError("could not find free usernames; run the command again")
    return [name for name in chosen if name is not None]


def _store_code(session: Session, account_uuid: str, now: dt.datetime) -> tuple[str, dt.datetime]:
    """A new code for the account, replacing any earlier one (which is then void)."""
    code = new_code()
    expires = now + CODE_VALIDITY
    session.execute(delete(ActivationCodeRow).where(ActivationCodeRow.account_uuid == account_uuid))
    session.execute(
        insert(ActivationCodeRow).values(
            account_uuid=account_uuid,
            code_hash=code_hash(account_uuid, code),
            issued_at=now,
            expires_at=expires,
        )
    )
    return code, expires


def issue_for_school(
    session: Session, instellingsnummer: str, today: dt.date, now: dt.datetime
) -> list[IssuedCredential]:
    """Credentials for each pupil enrolled at the school today who has none yet.

    A pupil's login account is its newest account that is not retired (art. 3); a pupil
    whose accounts already have a username is left alone (use ``reset`` for a new code).
    """
    enrolled = session.execute(
        select(Pupil.id, Pupil.naam, Pupil.voornaam, Enrolment.administratieve_groep)
        .join(Registration, Registration.pupil_id == Pupil.id)
        .join(Enrolment, Enrolment.referte == Registration.referte)
        .where(Enrolment.instellingsnummer == instellingsnummer, *active_on(today))
        .order_by(Enrolment.administratieve_groep, Pupil.naam, Pupil.voornaam, Pupil.id)
    ).all()
    pupils: dict[int, tuple[str, str, str]] = {}
    for row in enrolled:
        pupils.setdefault(row.id, (row.naam, row.voornaam, row.administratieve_groep))
    login_account: dict[int, str] = {}
    has_credential: set[int] = set()
    ids = list(pupils)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        accounts = session.execute(
            select(Account.pupil_id, Account.account_uuid, Credential.username)
            .outerjoin(Credential, Credential.account_uuid == Account.account_uuid)
            .where(Account.pupil_id.in_(chunk), Account.status != AccountStatus.RETIRED)
            .order_by(Account.created_at, Account.account_uuid)
        ).all()
        for acc in accounts:
            login_account[acc.pupil_id] = acc.account_uuid  # the newest wins
            if acc.username is not None:
                has_credential.add(acc.pupil_id)
    todo = [pid for pid in pupils if pid in login_account and pid not in has_credential]
    usernames = _unique_usernames(session, [(pupils[p][1], pupils[p][0]) for p in todo])
    issued: list[IssuedCredential] = []
    for pupil_id, username in zip(todo, usernames, strict=True):
        account_uuid = login_account[pupil_id]
        naam, voornaam, groep = pupils[pupil_id]
        session.execute(
            insert(Credential).values(
                account_uuid=account_uuid, username=username, password_hash=None, created_at=now
            )
        )
        code, expires = _store_code(session, account_uuid, now)
        issued.append(
            IssuedCredential(account_uuid, naam, voornaam, groep, username, code, expires)
        )
    return issued


def reset_code(
    session: Session, account_uuid: str, now: dt.datetime, *, revoke_password: bool = False
) -> IssuedCredential:
    """A new activation code for an account that has a username; the old code is void.

    The current password keeps working until the pupil activates the new code, unless
    ``revoke_password`` (a password that leaked) clears it at once.
    """
    row = session.execute(
        select(Credential.username, Pupil.naam, Pupil.voornaam)
        .join(Account, Account.account_uuid == Credential.account_uuid)
        .join(Pupil, Pupil.id == Account.pupil_id)
        .where(Credential.account_uuid == account_uuid)
    ).one_or_none()
    if row is None:
        known = session.scalar(
            select(Account.account_uuid).where(Account.account_uuid == account_uuid)
        )
        if known is None:
            raise NotFoundError(f"--account-uuid {account_uuid}: no such account")
        raise LeeridError(
            f"--account-uuid {account_uuid}: the account has no username yet; give the school "
            "its credentials with `leerid accounts issue --school NNNNNN --out FILE.csv`"
        )
    if revoke_password:
        session.execute(
            update(Credential)
            .where(Credential.account_uuid == account_uuid)
            .values(password_hash=None)
        )
    code, expires = _store_code(session, account_uuid, now)
    return IssuedCredential(account_uuid, row.naam, row.voornaam, "", row.username, code, expires)


def find_activation(conn: Connection, username: str) -> Activation | None:
    """The live code of ``username`` (one query, the same for unknown names), or None."""
    row = conn.execute(
        select(
            ActivationCodeRow.account_uuid,
            ActivationCodeRow.code_hash,
            ActivationCodeRow.expires_at,
        )
        .join(Credential, Credential.account_uuid == ActivationCodeRow.account_uuid)
        .where(Credential.username == username)
    ).one_or_none()
    if row is None:
        return None
    expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=dt.UTC)
    return Activation(row.account_uuid, row.code_hash, expires)


def complete_activation(conn: Connection, activation: Activation, password_hash: str) -> bool:
    """Use the code once and set the password, in the caller's transaction.

    False when the code was used or replaced meanwhile (another tab, a reset): then nothing
    is written.
    """
    used = conn.execute(
        delete(ActivationCodeRow).where(
            ActivationCodeRow.account_uuid == activation.account_uuid,
            ActivationCodeRow.code_hash == activation.code_hash,
        )
    )
    if used.rowcount != 1:
        return False
    conn.execute(
        update(Credential)
        .where(Credential.account_uuid == activation.account_uuid)
        .values(password_hash=password_hash)
    )
    return True
