"""Staff management on the web (issue 11 point 7): the DPO, or a member of staff whose
function profile has ``manages_staff``, adds, updates and disables accounts.

Art. 4 (function profile and schools) and art. 6 (the confidentiality and training dates:
"Elke Partij zal erop toezien dat personeelsleden ... enkel toegang verkrijgen tot
persoonsgegevens nadat ze behoorlijk gebonden zijn door een ... vertrouwelijkheidsverplichting").
Every change is in the privacy log; nobody changes or disables their own account.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Mapping

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from leerid.errors import LeeridError, NotFoundError
from leerid.passwords_unicode import normalise_password
from leerid.sp.kit import staff_admin
from leerid.sp.kit.models import StaffAccount
from leerid.sp.kit.need_to_know import missing_bonds
from leerid.sp.kit.staff import MIN_PASSWORD, list_staff, school_scope
from leerid.sp.kit.staff_admin import Function, StaffChange, StaffRefusedError
from leerid.sp.kit.staff_evidence import parse_day
from leerid.sp.portal.guard import PortalDep, StaffManager, StaffManagerPost
from leerid.sp.portal.state import Portal

router = APIRouter()

STAFF = "/personeel/medewerkers"
OLD_TRAINING = "/personeel/opleiding"
ACTIONS = ("toevoegen", "bijwerken", "wachtwoord", "uitschakelen")
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,79}$")


class FormError(ValueError):
    """A field the manager must correct (Dutch, naming the field)."""


def functions(portal: Portal) -> list[tuple[str, str]]:
    """The choices of the function field: the profiles, then the protocol's roles as such."""
    profiles = [(f"profiel:{p.id}", p.label) for p in portal.provider.settings.profiles]
    roles = [(f"rol:{r.id}", f"{r.label} (zonder profiel)") for r in portal.provider.protocol.roles]
    return profiles + roles


def _function(portal: Portal, value: str) -> Function:
    kind, _, name = value.partition(":")
    try:
        if kind == "profiel":
            return staff_admin.resolve_function(portal.provider, name, None)
        if kind == "rol":
            return staff_admin.resolve_function(portal.provider, None, name)
    except LeeridError:
        pass
    raise FormError("Functie: kies een functieprofiel of rol uit de lijst.")


def _day(form: Mapping[str, str], name: str, label: str) -> dt.date | None:
    try:
        return parse_day(form.get(name, ""), label)
    except LeeridError:
        text = f"{label}: geef de dag waarop het gebeurde als JJJJ-MM-DD, niet in de toekomst."
        raise FormError(text) from None


def _change(portal: Portal, form: Mapping[str, str]) -> StaffChange:
    """The form's fields as a change; schools as typed, separated by commas or spaces."""
    schools = [s for s in re.split(r"[\s,;]+", form.get("scholen", "")) if s]
    try:
        checked = staff_admin.check_schools(portal.provider, schools)
    except StaffRefusedError as exc:
        raise FormError(f"Scholen: {exc.dutch}") from None
    return StaffChange(
        function=_function(portal, form.get("functie", "")),
        schools=checked,
        confidentiality_signed_on=_day(form, "vertrouwelijkheid", "Vertrouwelijkheid ondertekend"),
        awareness_trained_on=_day(form, "sensibilisering", "Sensibilisering gevolgd"),
    )


def _new_account(form: Mapping[str, str]) -> tuple[str, str]:
    username = form.get("gebruikersnaam", "").strip()
    if not _USERNAME.match(username):
        raise FormError(
            "Gebruikersnaam: 2 tot 80 kleine letters, cijfers, '.', '_' of '-', zonder spaties."
        )
    password = form.get("wachtwoord", "")
    if len(normalise_password(password)) < MIN_PASSWORD:
        raise FormError(f"Wachtwoord: minstens {MIN_PASSWORD} tekens.")
    return username, password


SHOW = {
    "": "Alle medewerkers",
    "actief": "Actief",
    "uitgeschakeld": "Uitgeschakeld",
    "zonder-datums": "Zonder datum van vertrouwelijkheid of sensibilisering (art. 6)",
}


def _kept(account: StaffAccount, show: str) -> bool:
    if show == "actief":
        return account.active
    if show == "uitgeschakeld":
        return not account.active
    if show == "zonder-datums":  # art. 6: they see no pupil data yet
        return account.active and bool(missing_bonds(account))
    return True


def _shown(accounts: list[StaffAccount], show: str, part: str) -> list[StaffAccount]:
    """The accounts the filter keeps: by state or missing art. 6 dates, and by name."""
    return [a for a in accounts if _kept(a, show) and part.lower() in a.username]


@router.get(STAFF, response_class=HTMLResponse)
async def staff_accounts(request: Request, portal: PortalDep, who: StaffManager) -> Response:
    """Point 7: every account with its function, schools, art. 6 dates and state; filtered
    on its state or a part of its name when the list grows."""
    show, part = request.query_params.get("toon", ""), request.query_params.get("naam", "")
    wrong = "Toon: kies uit de lijst." if show not in SHOW else None
    if len(part) > 80:
        wrong = "Gebruikersnaam bevat: hoogstens 80 tekens."
    if wrong:
        return portal.message(who.session, "Filter niet in orde", wrong, 400, back=STAFF)
    every = await asyncio.to_thread(list_staff, portal.provider.engine)
    accounts = _shown(every, show, part.strip())
    current = {
        a.username: f"profiel:{a.function_profile}" if a.function_profile else f"rol:{a.role}"
        for a in accounts
    }
    return portal.page(
        "staff_accounts.html",
        who.session,
        accounts=accounts,
        total=len(every),
        show=show,
        show_choices=SHOW,
        part=part,
        me=who.username,
        current_function=current,
        labels=dict(functions(portal)),
        schools={a.username: ", ".join(sorted(school_scope(a))) for a in accounts},
        functions=functions(portal),
        partners=", ".join(sorted(portal.provider.settings.partner_schools)),
        min_password=MIN_PASSWORD,
        today=dt.date.today().isoformat(),
        current=STAFF,
    )


async def _apply(portal: Portal, posted: StaffManagerPost, action: str) -> str:
    """One change by ``action`` (toevoegen, bijwerken, wachtwoord, uitschakelen); the notice
    to show."""
    form, provider, actor = posted.form, portal.provider, posted.username
    name = form.get("gebruiker", "")
    if action == "toevoegen":
        username, password = _new_account(form)
        change = _change(portal, form)
        await asyncio.to_thread(
            staff_admin.create_staff, provider, actor, username, password, change, posted.role
        )
        return f"Medewerker {username} toegevoegd."
    if action == "bijwerken":
        change = _change(portal, form)
        await asyncio.to_thread(
            staff_admin.update_staff, provider, actor, name, change, posted.role
        )
        return f"Medewerker {name} bijgewerkt."
    if action == "wachtwoord":
        password = form.get("wachtwoord", "")
        await asyncio.to_thread(
            staff_admin.reset_password, provider, actor, name, password, posted.role
        )
        return f"Nieuw wachtwoord voor {name} bewaard; geef het persoonlijk door."
    await asyncio.to_thread(staff_admin.disable, provider, actor, name, posted.role)
    return f"Medewerker {name} uitgeschakeld; die kan niet meer aanmelden."


@router.post(STAFF + "/{action}")
async def staff_account_change(
    portal: PortalDep, posted: StaffManagerPost, action: str
) -> Response:
    """Point 7: add, update, give a new password to or disable an account (each change in
    the privacy log, never the password)."""
    session = posted.session
    if action not in ACTIONS:
        return portal.message(session, "Niet gevonden", "Deze pagina bestaat niet.", 404)
    try:
        text = await _apply(portal, posted, action)
    except FormError as exc:
        return portal.redirect_with(session, STAFF, f"Niet bewaard. {exc}", bad=True)
    except StaffRefusedError as exc:
        return portal.redirect_with(session, STAFF, f"Niet bewaard. {exc.dutch}", bad=True)
    except NotFoundError:
        return portal.redirect_with(session, STAFF, "Onbekend personeelslid.", bad=True)
    except LeeridError:  # the name is taken (add_staff checked the rest above)
        text = "Niet bewaard. Die gebruikersnaam bestaat al; kies een andere."
        return portal.redirect_with(session, STAFF, text, bad=True)
    return portal.redirect_with(session, STAFF, text)


@router.get(OLD_TRAINING)
async def staff_training(_who: StaffManager) -> Response:
    """The former page for the art. 6 dates lives on in the staff management page."""
    return RedirectResponse(STAFF, 308)
