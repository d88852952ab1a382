"""Managing staff accounts: function profile, schools, the art. 6 dates, disabling, a new
password.

Used by ``leerid sp staff`` and by the portal's ``/personeel/medewerkers`` (the DPO, or a
member of staff whose profile has ``manages_staff``). Every change is in the privacy log
(``personeel_toegevoegd``, ``personeel_bijgewerkt``, ``personeel_uitgeschakeld``,
``personeel_wachtwoord``), never a password. Nobody changes or disables their own account
here: no one raises their own rights.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from leerid.errors import LeeridError, NotFoundError
from leerid.passwords_unicode import normalise_password
from leerid.sp.kit import privacy_log
from leerid.sp.kit.models import StaffAccount
from leerid.sp.kit.orgcode import normalise_orgcode
from leerid.sp.kit.profiles import profile_of
from leerid.sp.kit.staff import HASHER, MIN_PASSWORD, add_staff, school_scope
from leerid.store.engine import session_scope

if TYPE_CHECKING:
    from leerid.sp.kit.provider import ServiceProvider


class StaffRefusedError(LeeridError):
    """A refused change, in English (the command line) and in Dutch (the portal)."""

    def __init__(self, message: str, dutch: str) -> None:
        super().__init__(message)
        self.dutch = dutch


OWN_ACCOUNT = "Je kan je eigen account niet wijzigen of uitschakelen; vraag het de DPO."


@dataclass(frozen=True)
class Function:
    """The account's role of art. 4 and, when it has one, its function profile."""

    role: str
    profile: str | None


@dataclass(frozen=True)
class StaffChange:
    """What to change of an account; None leaves a field as it is."""

    function: Function | None = None
    schools: tuple[str, ...] | None = None
    confidentiality_signed_on: dt.date | None = None
    awareness_trained_on: dt.date | None = None

    def empty(self) -> bool:
        return all(getattr(self, f) is None for f in self.__dataclass_fields__)


def resolve_function(provider: ServiceProvider, profile: str | None, role: str | None) -> Function:
    """Art. 4: a profile of the configuration gives the role; else a role of the protocol."""
    if profile:
        found = profile_of(provider.settings.profiles, profile)
        if found is None:
            known = ", ".join(p.id for p in provider.settings.profiles) or "none configured"
            raise StaffRefusedError(
                f"--profile {profile!r} is not a function profile of {provider.settings.path.name}"
                f" ([profiles.*]); use one of: {known}",
                "Kies een functieprofiel uit de lijst.",
            )
        if role and role != found.role:
            raise LeeridError(
                f"--role {role!r} differs from profile {profile!r}'s role {found.role!r}; "
                "leave --role out (the profile gives it)"
            )
        return Function(found.role, found.id)
    if not role:
        raise LeeridError("give --profile (a function profile) or --role (a protocol role)")
    if provider.protocol.role(role) is None:
        raise LeeridError(
            f"role {role!r} is not a recipient role of the protocol; use one of "
            + ", ".join(r.id for r in provider.protocol.roles)
        )
    return Function(role, None)


def check_schools(provider: ServiceProvider, schools: Iterable[str]) -> tuple[str, ...]:
    """Art. 4 scope: each school a partner school (preamble D), as six digits."""
    partners = provider.settings.partner_schools
    codes = []
    for school in schools:
        code = normalise_orgcode(school)
        if code is None or code not in partners:
            listed = ", ".join(sorted(partners))
            raise StaffRefusedError(
                f"--school {school!r} is not one of the partner schools ([partner_schools] in "
                f"{provider.settings.path.name}): {listed}",
                f"School {school!r} is geen partnerschool; kies uit {listed}.",
            )
        codes.append(code)
    return tuple(sorted(set(codes)))


def _log(session: Session, actor: str, action: str, purpose: str, account: StaffAccount) -> None:
    """The privacy-log entry of a change: the account as it is now (never a password)."""
    privacy_log.append(
        session,
        actor=actor,
        action=action,
        purpose=purpose,
        detail={
            "personeelslid": account.username,
            "rol": account.role,
            "profiel": account.function_profile or "",
            "scholen": sorted(school_scope(account)),
            "vertrouwelijkheid": str(account.confidentiality_signed_on or ""),
            "sensibilisering": str(account.awareness_trained_on or ""),
        },
    )


def _may_grant(provider: ServiceProvider, actor_role: str | None, function: Function) -> None:
    """Only someone who sees the privacy log gives a role that sees it (art. 6: the DPO)."""
    if actor_role is None or not provider.permissions(function.role).sees_privacy_log:
        return
    if not provider.permissions(actor_role).sees_privacy_log:
        raise StaffRefusedError(
            f"only the DPO gives the role {function.role!r}",
            "Enkel de DPO kent de rol van DPO toe.",
        )


MANAGER_LIMIT = (
    "Als beheerder van personeel geef je enkel een functieprofiel zonder personeelsbeheer en "
    "scholen uit je eigen scholen, en wijzig je geen DPO of andere beheerder; de rest doet de "
    "DPO."
)


def _check_manager(
    provider: ServiceProvider,
    session: Session,
    actor: str,
    actor_role: str | None,
    change: StaffChange | None,
    target: StaffAccount | None,
) -> None:
    """Art. 4, 6: a staff manager who is not the DPO grants no more than a function profile
    without staff management and schools of their own scope, touches no DPO or other
    manager, and is bound by confidentiality themselves (``actor_role`` None: the CLI)."""
    if actor_role is None or provider.permissions(actor_role).sees_privacy_log:
        return
    manager = session.get(StaffAccount, actor)
    if manager is None or not (manager.confidentiality_signed_on and manager.awareness_trained_on):
        raise StaffRefusedError(
            f"{actor} is not bound by confidentiality and trained (art. 6)",
            "Eerst je eigen vertrouwelijkheidsverklaring en sensibilisering (art. 6).",
        )
    function = change.function if change is not None else None
    profile = profile_of(provider.settings.profiles, function.profile) if function else None
    too_much = (
        (function is not None and (profile is None or profile.manages_staff))
        or (change is not None and not set(change.schools or ()) <= school_scope(manager))
        or (target is not None and may_manage(provider, target))
    )
    if too_much:
        raise StaffRefusedError(
            "a staff manager gives profiles without staff management and schools of their own "
            "scope, and changes no DPO or other manager; ask the DPO",
            MANAGER_LIMIT,
        )


def create_staff(
    provider: ServiceProvider,
    actor: str,
    username: str,
    password: str,
    change: StaffChange,
    actor_role: str | None = None,
) -> None:
    """Art. 4 and 6: a new account with its function, schools and dates (logged)."""
    if change.function is None:
        raise LeeridError("give a function profile or a role")
    _may_grant(provider, actor_role, change.function)
    with session_scope(provider.engine) as session:  # the account and its log entry together
        _check_manager(provider, session, actor, actor_role, change, None)
        add_staff(
            provider.engine,
            provider.protocol,
            username,
            password,
            change.function.role,
            confidentiality_signed_on=change.confidentiality_signed_on,
            awareness_trained_on=change.awareness_trained_on,
            function_profile=change.function.profile,
            schools=change.schools or (),
            session=session,
        )
        account = session.get(StaffAccount, username)
        if account is None:  # added just above, in this session
            raise NotFoundError(f"staff account {username!r} was not stored")
        _log(session, actor, "personeel_toegevoegd", "art. 4, 6: nieuw personeelslid", account)


def update_staff(
    provider: ServiceProvider,
    actor: str,
    username: str,
    change: StaffChange,
    actor_role: str | None = None,
) -> None:
    """Art. 4 and 6: change the function, the schools or the dates of an account (logged)."""
    if change.empty():
        raise LeeridError(
            "give --profile/--role, --school, --confidentiality-signed or --awareness-trained"
        )
    if actor == username:
        raise StaffRefusedError("you cannot change your own account; ask the DPO", OWN_ACCOUNT)
    if change.function is not None:
        _may_grant(provider, actor_role, change.function)
    with session_scope(provider.engine) as session:
        account = session.get(StaffAccount, username)
        if account is None:
            raise NotFoundError(f"no staff account {username!r}; see `leerid sp staff list`")
        _check_manager(provider, session, actor, actor_role, change, account)
        if change.function is not None:
            account.role, account.function_profile = change.function.role, change.function.profile
        if change.schools is not None:
            account.schools = ",".join(change.schools)
        if change.confidentiality_signed_on is not None:
            account.confidentiality_signed_on = change.confidentiality_signed_on
        if change.awareness_trained_on is not None:
            account.awareness_trained_on = change.awareness_trained_on
        _log(
            session, actor, "personeel_bijgewerkt", "art. 4, 6: functie, scholen of datums", account
        )


def disable(
    provider: ServiceProvider, actor: str, username: str, actor_role: str | None = None
) -> None:
    """An account that can no longer log in (logged); never one's own."""
    if actor == username:
        raise StaffRefusedError("you cannot disable your own account; ask the DPO", OWN_ACCOUNT)
    with session_scope(provider.engine) as session:
        account = session.get(StaffAccount, username)
        if account is None:
            raise NotFoundError(f"no staff account {username!r}; see `leerid sp staff list`")
        _check_manager(provider, session, actor, actor_role, None, account)
        account.active = False
        privacy_log.append(
            session,
            actor=actor,
            action="personeel_uitgeschakeld",
            purpose="art. 4: account uitgeschakeld",
            detail={"personeelslid": username},
        )


def may_manage(provider: ServiceProvider, account: StaffAccount) -> bool:
    """Issue 11 point 7: the DPO, or a profile with ``manages_staff``."""
    if provider.permissions(account.role).sees_privacy_log:
        return True
    profile = profile_of(provider.settings.profiles, account.function_profile)
    return profile is not None and profile.manages_staff


def reset_password(
    provider: ServiceProvider,
    actor: str,
    username: str,
    password: str,
    actor_role: str | None = None,
) -> None:
    """A new password for an account whose owner forgot theirs (art. 6: access only with
    one's own account); logged without the password; never one's own account here, and a
    staff manager resets no DPO or other manager. A disabled account stays disabled."""
    if actor == username:
        raise StaffRefusedError("you cannot reset your own password here; ask the DPO", OWN_ACCOUNT)
    password = normalise_password(password)  # NIST SP 800-63B §5.1.1.2 (issue 8 §9)
    if len(password) < MIN_PASSWORD:
        raise StaffRefusedError(
            f"the password must have at least {MIN_PASSWORD} characters",
            f"Wachtwoord: minstens {MIN_PASSWORD} tekens.",
        )
    with session_scope(provider.engine) as session:
        account = session.get(StaffAccount, username)
        if account is None:
            raise NotFoundError(f"no staff account {username!r}; see `leerid sp staff list`")
        _check_manager(provider, session, actor, actor_role, None, account)
        account.password_hash = HASHER.hash(password)
        privacy_log.append(
            session,
            actor=actor,
            action="personeel_wachtwoord",
            purpose="art. 6: nieuw wachtwoord voor een personeelslid",
            detail={"personeelslid": username},
        )
