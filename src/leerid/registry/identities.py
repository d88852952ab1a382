"""The LeerID identity rules, as plain functions over plain data (issue 2 §5, protocol art. 3).

An ``IdentityBook`` holds the part of the registry that a batch of registrations touches
(loaded by the importer) and a ``Changes`` log of what to write. ``apply_registration``
applies the rules to one incoming registration, updates the book and logs the changes; it
never touches a database, so the rules are tested on their own.

Art. 3: a ``leer_id_uuid`` exists only for a pupil identified with an INSZ; it is random
(never derived from the INSZ), never changed and never reused. Accounts (``account_uuid``)
are random too and never reused; a temporary account is retired when its pupil is
identified and becomes part of the pupil's ``historiek_account_uuid``.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from leerid.registry.models import AccountStatus

__all__ = [
    "AccountState",
    "Changes",
    "IdentityBook",
    "Incoming",
    "KnownRegistration",
    "Outcome",
    "PupilState",
    "Rejection",
    "apply_registration",
    "mint_uuid",
    "registration_digest",
]

PERMANENT = AccountStatus.PERMANENT.value
TEMPORARY = AccountStatus.TEMPORARY.value
RETIRED = AccountStatus.RETIRED.value


class _UuidMinter:
    """Version-4 UUIDs from the OS's CSPRNG, read 64 KiB at a time (one system call per
    4,096 UUIDs instead of one each); the same bits as ``uuid.uuid4()`` (RFC 9562 §5.4)."""

    def __init__(self) -> None:
        self._pool = ""
        self._at = 0
        # A forked child never reuses its parent's pool (that would repeat UUIDs).
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._pool, self._at = "", 0

    def __call__(self) -> str:
        if self._at >= len(self._pool):
            self._pool, self._at = os.urandom(16 * 4096).hex(), 0
        h = self._pool[self._at : self._at + 32]
        self._at += 32
        # The version nibble becomes 4; the variant keeps 2 random bits of its nibble (10xx).
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


_VARIANT = {f"{n:x}": f"{8 | (n & 3):x}" for n in range(16)}
"""A random hex digit → the variant digit keeping its two low bits (8, 9, a or b)."""

_mint = _UuidMinter()


def mint_uuid() -> str:
    """Art. 3: a fresh random UUID (version 4, from the OS's CSPRNG); never derived from data."""
    return _mint()


def registration_digest(
    referte: str, insz: str | None, naam: str, voornaam: str, geboortedatum: dt.date
) -> str:
    """A 32-hex-digit fingerprint of a registration's fields, to skip unchanged rows."""
    text = "\x1f".join((referte, insz or "", naam, voornaam, geboortedatum.isoformat()))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class Incoming:
    """A valid registration as it arrives in an import."""

    referte: str
    insz: str | None
    naam: str
    voornaam: str
    geboortedatum: dt.date
    digest: str


@dataclass(slots=True)
class KnownRegistration:
    """A registration as the registry holds it."""

    pupil_id: int
    insz: str | None
    digest: str


@dataclass(slots=True)
class AccountState:
    """An account of a pupil: its status and whether it has credentials."""

    status: str
    has_credential: bool


@dataclass(slots=True)
class PupilState:
    """A pupil as far as the rules need it."""

    pupil_id: int
    insz: str | None
    leer_id_uuid: str | None
    accounts: dict[str, AccountState] = field(default_factory=dict)

    def permanent_account(self) -> str | None:
        """The first permanent account, if any."""
        for account_uuid, account in self.accounts.items():
            if account.status == PERMANENT:
                return account_uuid
        return None


class Outcome(enum.Enum):
    """What one incoming registration did to the registry."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class Rejection:
    """An incoming registration the rules refuse; the registry keeps what it had."""

    column: str
    reason: str


@dataclass
class Changes:
    """What the rules decided to write; the importer writes it in bulk."""

    new_pupils: dict[int, list[object]] = field(default_factory=dict)
    """id -> [leer_id_uuid, insz, naam, voornaam, geboortedatum] of pupils to insert."""
    pupil_fields: dict[int, tuple[str, str, dt.date]] = field(default_factory=dict)
    """id -> (naam, voornaam, geboortedatum) of existing pupils."""
    pupil_identity: dict[int, tuple[str, str]] = field(default_factory=dict)
    """id -> (insz, leer_id_uuid) of existing pupils identified or given a new INSZ."""
    deleted_pupils: set[int] = field(default_factory=set)
    insz_history: list[tuple[int, str]] = field(default_factory=list)
    new_registrations: dict[str, Incoming] = field(default_factory=dict)
    updated_registrations: dict[str, Incoming] = field(default_factory=dict)
    registration_pupil: dict[str, int] = field(default_factory=dict)
    """referte -> pupil id, for every new or updated registration."""
    new_accounts: dict[str, tuple[int, str, str | None]] = field(default_factory=dict)
    """account_uuid -> (pupil id, status, referte)."""
    retired_accounts: dict[str, int] = field(default_factory=dict)
    """account_uuid -> the pupil id it now belongs to (as history)."""
    credential_moves: list[tuple[str, str]] = field(default_factory=list)
    """(from account_uuid, to account_uuid)."""
    identified: list[tuple[str, str, tuple[str, ...], tuple[str, ...]]] = field(
        default_factory=list
    )
    """Issue 10, point 3: (leer_id_uuid, permanent account_uuid, the temporary accounts retired
    now, every retired account of the pupil) of each identification, for its recipients."""
    leer_id_uuids_minted: int = 0


@dataclass
class IdentityBook:
    """The registry as far as one batch of registrations needs it, as plain data.

    ``insz_owner`` maps every INSZ the batch mentions, current or historical, to its pupil.
    """

    registrations: dict[str, KnownRegistration]
    pupils: dict[int, PupilState]
    insz_owner: dict[str, int]
    next_pupil_id: Callable[[], int]
    mint: Callable[[], str] = mint_uuid
    changes: Changes = field(default_factory=Changes)


def _new_pupil(book: IdentityBook, incoming: Incoming) -> PupilState:
    """A new pupil for ``incoming``: minted if it has an INSZ, else unidentified."""
    pupil_id = book.next_pupil_id()
    changes = book.changes
    leer_id_uuid = None
    if incoming.insz is not None:
        leer_id_uuid = book.mint()  # art. 3: minted the first time an INSZ is seen
        changes.leer_id_uuids_minted += 1
        book.insz_owner[incoming.insz] = pupil_id
    pupil = PupilState(pupil_id, incoming.insz, leer_id_uuid)
    book.pupils[pupil_id] = pupil
    changes.new_pupils[pupil_id] = [
        leer_id_uuid,
        incoming.insz,
        incoming.naam,
        incoming.voornaam,
        incoming.geboortedatum,
    ]
    if incoming.insz is None:
        _add_account(book, pupil, TEMPORARY, incoming.referte)  # art. 3: temporary account
    else:
        _add_account(book, pupil, PERMANENT, None)
    return pupil


def _add_account(book: IdentityBook, pupil: PupilState, status: str, referte: str | None) -> str:
    account_uuid = book.mint()
    pupil.accounts[account_uuid] = AccountState(status, False)
    book.changes.new_accounts[account_uuid] = (pupil.pupil_id, status, referte)
    return account_uuid


def _set_fields(book: IdentityBook, pupil_id: int, incoming: Incoming) -> None:
    """The pupil's name and birth date are those of its most recently imported registration."""
    new = book.changes.new_pupils.get(pupil_id)
    if new is not None:
        new[2:5] = [incoming.naam, incoming.voornaam, incoming.geboortedatum]
    else:
        book.changes.pupil_fields[pupil_id] = (
            incoming.naam,
            incoming.voornaam,
            incoming.geboortedatum,
        )


def _set_identity(book: IdentityBook, pupil: PupilState, insz: str, leer_id_uuid: str) -> None:
    pupil.insz = insz
    pupil.leer_id_uuid = leer_id_uuid
    book.insz_owner[insz] = pupil.pupil_id
    new = book.changes.new_pupils.get(pupil.pupil_id)
    if new is not None:
        new[0:2] = [leer_id_uuid, insz]
    else:
        book.changes.pupil_identity[pupil.pupil_id] = (insz, leer_id_uuid)


def _identify(book: IdentityBook, unidentified: PupilState, insz: str) -> PupilState:
    """Issue 2 §5 identification: the registration joins the pupil of ``insz`` (minted if
    new); every temporary account is retired into that pupil's historiek_account_uuid, the
    pupil has a permanent account, and retired credentials move to it unless it has its own.
    """
    changes = book.changes
    owner_id = book.insz_owner.get(insz)
    if owner_id is None:
        target = unidentified  # the same pupil row becomes identified
        _set_identity(book, target, insz, book.mint())
        changes.leer_id_uuids_minted += 1
    else:
        target = book.pupils[owner_id]
    permanent = target.permanent_account()
    if permanent is None:
        permanent = _add_account(book, target, PERMANENT, None)
    permanent_state = target.accounts[permanent]
    retired: list[str] = []
    for account_uuid, account in list(unidentified.accounts.items()):
        if account.status != TEMPORARY:
            continue
        account.status = RETIRED
        retired.append(account_uuid)
        changes.retired_accounts[account_uuid] = target.pupil_id
        if target is not unidentified:
            del unidentified.accounts[account_uuid]
            target.accounts[account_uuid] = account
        if account.has_credential and not permanent_state.has_credential:
            changes.credential_moves.append((account_uuid, permanent))
            account.has_credential = False
            permanent_state.has_credential = True
    if target is not unidentified:
        changes.deleted_pupils.add(unidentified.pupil_id)
        del book.pupils[unidentified.pupil_id]
    _note_identified(changes, target, permanent, retired)
    return target


def _note_identified(
    changes: Changes, pupil: PupilState, permanent: str, retired: list[str]
) -> None:
    """Art. 3: the recipients of the temporary accounts learn the pupil's Leer_id_uuid."""
    if pupil.leer_id_uuid is None or not retired:
        return
    historiek = sorted(a for a, s in pupil.accounts.items() if s.status == RETIRED)
    changes.identified.append(
        (pupil.leer_id_uuid, permanent, tuple(sorted(retired)), tuple(historiek))
    )


def apply_registration(book: IdentityBook, incoming: Incoming) -> Outcome | Rejection:
    """Apply the identity rules to one valid incoming registration (issue 2 §4-§5).

    The import is the truth for each referte it carries; an unchanged registration changes
    nothing and mints nothing.
    """
    changes = book.changes
    known = book.registrations.get(incoming.referte)
    if known is None:
        owner_id = book.insz_owner.get(incoming.insz) if incoming.insz else None
        if owner_id is not None:
            pupil_id = owner_id  # several registrations with the same INSZ are one pupil
            _set_fields(book, pupil_id, incoming)
            target = book.pupils[pupil_id]
            if target.permanent_account() is None:
                _add_account(book, target, PERMANENT, None)
        else:
            pupil_id = _new_pupil(book, incoming).pupil_id
        changes.new_registrations[incoming.referte] = incoming
        changes.registration_pupil[incoming.referte] = pupil_id
        book.registrations[incoming.referte] = KnownRegistration(
            pupil_id, incoming.insz, incoming.digest
        )
        return Outcome.CREATED
    if known.digest == incoming.digest:
        return Outcome.UNCHANGED
    pupil = book.pupils[known.pupil_id]
    if incoming.insz is None and pupil.insz is not None:
        return Rejection(
            "insz",
            "insz is leeg, maar deze referte hoort bij een leerling met INSZ; een "
            "geïdentificeerde leerling wordt nooit terug anoniem: vul het INSZ opnieuw in",
        )
    if incoming.insz is not None and incoming.insz != pupil.insz:
        owner_id = book.insz_owner.get(incoming.insz)
        if pupil.insz is None:
            pupil = _identify(book, pupil, incoming.insz)
        elif owner_id is not None and owner_id != pupil.pupil_id:
            return Rejection(
                "insz",
                "insz hoort al bij een andere leerling in LeerID; twee leerlingen samenvoegen "
                "is een manuele handeling (leerid registry merge): meld dit aan de helpdesk",
            )
        elif owner_id is None:
            # INSZ change (BIS -> national number): same leer_id_uuid, old INSZ kept.
            assert pupil.leer_id_uuid is not None
            changes.insz_history.append((pupil.pupil_id, pupil.insz))
            _set_identity(book, pupil, incoming.insz, pupil.leer_id_uuid)
    _set_fields(book, pupil.pupil_id, incoming)
    changes.updated_registrations[incoming.referte] = incoming
    changes.registration_pupil[incoming.referte] = pupil.pupil_id
    known.pupil_id = pupil.pupil_id
    known.insz = incoming.insz
    known.digest = incoming.digest
    return Outcome.UPDATED
