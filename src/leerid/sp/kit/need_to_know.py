"""What one member of staff may see of the pupils: bound first (art. 6), then need-to-know
(art. 4, second indent): the pupils of their schools, only their profile's attributes.

Art. 6: "Elke Partij zal erop toezien dat personeelsleden of aangestelde personen enkel
toegang verkrijgen tot persoonsgegevens nadat ze behoorlijk gebonden zijn door een wettelijke
of contractuele vertrouwelijkheidsverplichting." Art. 4: "Enkel personen die omwille van hun
functieprofiel deze informatie nodig hebben voor de uitvoering van hun werk, krijgen toegang
tot de informatie."
"""

from __future__ import annotations

import base64
import datetime as dt
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import ColumnElement, false, literal, or_, select
from sqlalchemy.orm import Session

from leerid.errors import LeeridError
from leerid.protocol import Protocol
from leerid.protocol.lifecycle import BRUSSELS
from leerid.sp.kit.models import PupilRecord, StaffAccount
from leerid.sp.kit.name_search import fold
from leerid.sp.kit.profiles import Profile, profile_of
from leerid.sp.kit.staff import school_scope

PAGE_SIZE = 50
CONFIDENTIALITY = "vertrouwelijkheid"
TRAINING = "sensibilisering"


class UnboundStaffError(PermissionError):
    """Art. 6: no pupil data before the confidentiality undertaking and the training."""

    def __init__(self, missing: tuple[str, ...]) -> None:
        super().__init__(
            "art. 6: record the " + " and ".join(missing) + " date first (the DPO or an "
            "administrator: `leerid sp staff update USER --confidentiality/--training`)"
        )
        self.missing = missing


def missing_bonds(account: StaffAccount, today: dt.date | None = None) -> tuple[str, ...]:
    """Art. 6: which of the two dates is not recorded (or lies in the future)."""
    today = today or dt.date.today()
    missing = []
    if account.confidentiality_signed_on is None or account.confidentiality_signed_on > today:
        missing.append(CONFIDENTIALITY)
    if account.awareness_trained_on is None or account.awareness_trained_on > today:
        missing.append(TRAINING)
    return tuple(missing)


@dataclass(frozen=True)
class Clearance:
    """What one member of staff may see now: their schools and their profile's attributes;
    ``attributes`` None (no profile) means every attribute of art. 3 the provider holds."""

    username: str
    role: str
    function: str
    schools: frozenset[str]
    attributes: frozenset[str] | None

    def sees(self, attribute: str) -> bool:
        return self.attributes is None or attribute in self.attributes

    def in_scope(self, orgcodes: str) -> bool:
        """Art. 4: a pupil with at least one school in this person's scope."""
        return bool(self.schools & {c for c in orgcodes.split(",") if c})


class SearchRefusedError(LeeridError):
    """Art. 4, second indent: a search that would reveal what the profile does not show."""

    def __init__(self, message: str, dutch: str) -> None:
        super().__init__(message)
        self.dutch = dutch


def refuse_revealing_search(clearance: Clearance, query: PupilSearch) -> None:
    """A search is no way to learn what the profile does not show: the folded names hold
    both names, and a school filter tells the school of a key."""
    if query.name.strip() and not (clearance.sees("naam") and clearance.sees("voornaam")):
        raise SearchRefusedError(
            "your function profile does not show both names: search by date",
            "Je functieprofiel toont niet beide namen: zoek op datum.",
        )
    if query.school is not None and not clearance.sees("instellingsnummer"):
        raise SearchRefusedError(
            "your function profile shows no school: search by name or date",
            "Je functieprofiel toont geen school: zoek op naam of datum.",
        )


def profile_missing(profiles: tuple[Profile, ...], account: StaffAccount) -> bool:
    """Art. 4, second indent, fail closed: a profile no longer configured, or none where LARS
    configured profiles, opens nothing (never "every attribute")."""
    return profile_of(profiles, account.function_profile) is None and bool(
        account.function_profile or profiles
    )


def clearance(
    session: Session, profiles: tuple[Profile, ...], protocol: Protocol, actor: str, role: str
) -> Clearance:
    """The clearance of ``actor`` from the database (never from a cookie), or a refusal."""
    account = session.get(StaffAccount, actor)
    if account is None or not account.active or account.role != role:
        raise PermissionError(f"no active staff account {actor!r} with role {role!r} (art. 4)")
    missing = missing_bonds(account)
    if missing:
        raise UnboundStaffError(missing)
    if profile_missing(profiles, account):
        raise PermissionError(
            f"art. 4: {actor} has no configured function profile "
            f"({account.function_profile or 'none'}); the DPO gives one"
        )
    profile = profile_of(profiles, account.function_profile)
    recipient = protocol.role(role)
    label = profile.label if profile else (recipient.label if recipient else role)
    return Clearance(
        username=actor,
        role=role,
        function=label,
        schools=school_scope(account),
        attributes=frozenset(profile.attributes) if profile else None,
    )


# -- the reference a page uses instead of the pupil's key -----------------------------------


def seal_ref(key: bytes, actor: str, pupil_key: str) -> str:
    """A reference to a pupil that reveals no key (a profile may not see the Leer_id_uuid)
    and works only for ``actor``: AES-GCM with the provider's session key."""
    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, pupil_key.encode(), actor.encode())
    return base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def open_ref(key: bytes, actor: str, ref: str) -> str | None:
    """The pupil key of a reference ``seal_ref`` made for ``actor``; None for anything else."""
    try:
        raw = base64.urlsafe_b64decode(ref + "=" * (-len(ref) % 4))
        return AESGCM(key).decrypt(raw[:12], raw[12:], actor.encode()).decode()
    except (ValueError, InvalidTag, UnicodeDecodeError):
        return None


# -- what is shown -------------------------------------------------------------------------


@dataclass(frozen=True)
class SeenPupil:
    """One pupil as one member of staff sees them: only their profile's attributes (art. 3
    keys); an attribute the profile lacks is absent, not blank."""

    ref: str
    attributes: dict[str, str]
    last_login_at: dt.datetime
    dossier: tuple[tuple[dt.datetime, str, str], ...] = ()
    reports: tuple[tuple[str, str, str, str], ...] = ()

    def get(self, attribute: str) -> str | None:
        return self.attributes.get(attribute)


HELD_KEYS = ("voornaam", "naam", "leer_id_uuid", "account_uuid", "instellingsnummer")
"""Art. 3: the attributes LARS keeps of a pupil (never the INSZ, which it does not receive)."""


def held_attributes(
    pupil_key: str,
    key_kind: str,
    account_uuid: str,
    names: tuple[str | None, str | None],
    orgcodes: str,
) -> dict[str, str]:
    """Art. 3: the attributes the provider holds of one pupil, by the protocol's keys."""
    given, family = names
    held = {
        "voornaam": given,
        "naam": family,
        "leer_id_uuid": pupil_key if key_kind == "leer_id_uuid" else None,
        "account_uuid": account_uuid,
        "instellingsnummer": ", ".join(c for c in orgcodes.split(",") if c),
    }
    return {k: v for k, v in held.items() if v}


def shown(clearance: Clearance, held: dict[str, str]) -> dict[str, str]:
    """Art. 4, second indent: the profile's attributes only."""
    return {k: v for k, v in held.items() if clearance.sees(k)}


# -- the search ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PupilSearch:
    """A search within the scope: a name, a school, a range of last-login days, a page."""

    name: str = ""
    school: str | None = None
    login_from: dt.date | None = None
    login_to: dt.date | None = None
    page: int = 1

    def criteria(self) -> list[str]:
        """The criteria used (for the privacy log; the typed name itself is personal data)."""
        used = {
            "naam": bool(self.name.strip()),
            "school": self.school is not None,
            "laatste_aanmelding_vanaf": self.login_from is not None,
            "laatste_aanmelding_tot": self.login_to is not None,
        }
        return [k for k, v in used.items() if v]


@dataclass(frozen=True)
class SearchPage:
    pupils: tuple[SeenPupil, ...]
    page: int
    has_next: bool
    criteria: list[str] = field(default_factory=list)


def _scope_clause(schools: Iterable[str]) -> ColumnElement[bool]:
    wrapped = literal(",").concat(PupilRecord.orgcodes).concat(",")
    codes = sorted(schools)
    return or_(*(wrapped.like(f"%,{c},%") for c in codes)) if codes else false()


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=BRUSSELS).astimezone(dt.UTC)


def _statement(clearance: Clearance, query: PupilSearch) -> Any:
    statement = select(
        PupilRecord.pupil_key,
        PupilRecord.key_kind,
        PupilRecord.account_uuid,
        PupilRecord.given_name,
        PupilRecord.family_name,
        PupilRecord.orgcodes,
        PupilRecord.last_login_at,
    ).where(_scope_clause(clearance.schools))
    if query.school is not None:
        inside = clearance.schools & {query.school}
        statement = statement.where(_scope_clause(inside))
    for word in fold(query.name).split():  # the names folded at login (``name_search``)
        statement = statement.where(PupilRecord.search_name.contains(word, autoescape=True))
    if query.login_from is not None:
        statement = statement.where(PupilRecord.last_login_at >= _day_start(query.login_from))
    if query.login_to is not None:
        end = _day_start(query.login_to + dt.timedelta(days=1))
        statement = statement.where(PupilRecord.last_login_at < end)
    return statement.order_by(PupilRecord.last_login_at.desc(), PupilRecord.pupil_key)


def search(session: Session, clearance: Clearance, query: PupilSearch, key: bytes) -> SearchPage:
    """Art. 4: the pupils of the scope that match, newest login first, ``PAGE_SIZE`` a page;
    the name (given or family, any part, any case or accent) matched on the stored names."""
    statement = _statement(clearance, query).offset((query.page - 1) * PAGE_SIZE)
    found = [
        SeenPupil(
            seal_ref(key, clearance.username, key_),
            shown(clearance, held_attributes(key_, kind, account, (given, family), orgcodes)),
            at,
        )
        for key_, kind, account, given, family, orgcodes, at in session.execute(
            statement.limit(PAGE_SIZE + 1)  # one more: is there a next page?
        )
    ]
    return SearchPage(
        tuple(found[:PAGE_SIZE]), query.page, len(found) > PAGE_SIZE, query.criteria()
    )
