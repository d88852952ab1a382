"""The portal's one guard: the sealed session, the staff member's role (art. 4), the CSRF token.

Every check is a FastAPI dependency. A refusal raises :class:`Refused`, which carries the
page or redirect to answer; ``create_portal`` installs the handler that sends it. The order
of the checks for a staff form is: a staff session, the account still active and its role
read from the database (not from the cookie), the role's rights, for pupil data the art. 6
dates, then the CSRF token.
"""

from __future__ import annotations

import datetime as dt
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from leerid.sp.kit.need_to_know import missing_bonds, profile_missing
from leerid.sp.kit.staff import get_staff
from leerid.sp.kit.staff_admin import may_manage
from leerid.sp.portal.state import Portal, portal_of

__all__ = [
    "AnyStaff",
    "DpoStaff",
    "DpoStaffPost",
    "Portal",
    "PortalDep",
    "PupilDataStaff",
    "PupilDataStaffPost",
    "PupilPost",
    "Refused",
    "Session",
    "SignedPost",
    "Staff",
    "StaffManager",
    "StaffManagerPost",
    "StaffPost",
    "Visitor",
    "form_with_csrf",
    "not_here",
    "pupil_post",
    "read_session",
    "refused",
    "signed_post",
    "staff",
    "staff_post",
]

NOT_ALLOWED = "Niet toegestaan"


class Refused(Exception):  # noqa: N818 (a refusal is an answer, not an error)
    """A guard's refusal: ``response`` is what the visitor gets instead of the page."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


async def not_here(request: Request, exc: Exception) -> Response:
    """Unknown path or wrong method: a page in the portal's words, not a JSON body."""
    status = exc.status_code if isinstance(exc, HTTPException) else 404
    heading, text = NOT_HERE.get(status, NOT_HERE[400])
    response = portal_of(request).message(read_session(request), heading, text, status)
    if isinstance(exc, HTTPException) and exc.headers:
        response.headers.update(exc.headers)  # e.g. Allow on a 405
    return response


NOT_HERE = {
    404: ("Niet gevonden", "Deze pagina bestaat niet. Ga terug naar de startpagina."),
    400: ("Niet gelukt", "Dit verzoek kon niet verwerkt worden. Ga terug naar de startpagina."),
    405: ("Niet toegestaan", "Deze pagina kan zo niet gebruikt worden. Ga naar de startpagina."),
}


async def refused(_request: Request, exc: Exception) -> Response:
    """The exception handler that answers a :class:`Refused`."""
    if not isinstance(exc, Refused):  # registered for Refused only
        raise exc
    return exc.response


@dataclass(frozen=True)
class Staff:
    """A staff member whose account and role were checked on this request (art. 4)."""

    session: dict[str, Any]
    username: str
    role: str


@dataclass(frozen=True)
class StaffPost(Staff):
    """A staff member's form post with a valid CSRF token."""

    form: dict[str, str]


@dataclass(frozen=True)
class Visitor:
    """Anyone's form post (a pupil's, or a logout) with a valid CSRF token."""

    session: dict[str, Any]
    form: dict[str, str]


def read_session(request: Request) -> dict[str, Any]:
    """The sealed session of the request (empty when missing, forged or expired)."""
    return portal_of(request).sealer.read(request)


async def form_with_csrf(request: Request, session: dict[str, Any]) -> dict[str, str] | None:
    """The posted form when its CSRF token is the session's, else None."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    expected = session.get("csrf", "")
    given = form.get("csrf", "")
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        return None
    return form


def check_staff(
    portal: Portal,
    session: dict[str, Any],
    *,
    pupil_data: bool,
    log_access: bool,
    manage: bool = False,
) -> Staff:
    """The staff member of ``session`` with the rights asked for, or :class:`Refused`."""
    who = (
        (session["staff"], session["role"])
        if session.get("staff") and session.get("role")
        else None
    )
    # Art. 4: a disabled account or a changed role counts at once, not when the sealed
    # session cookie expires; the role is read from the database on every request.
    account = get_staff(portal.provider.engine, who[0]) if who is not None else None
    if account is None:
        response = RedirectResponse("/personeel/aanmelden", 303)
        if who is not None:
            portal.sealer.clear(response)
        raise Refused(response)
    state = portal.provider.protocol_state()
    if pupil_data and state.ended(dt.datetime.now(dt.UTC)):
        # Art. 8, 11: after the end no staff access to disclosed data (the DPO keeps the
        # privacy log and the evidence); the banner says why.
        text = "Het protocol met het Departement is beëindigd: leerlingen inzien kan niet meer."
        raise Refused(portal.message(session, "Geen toegang", text, 403, back="/personeel"))
    perms = portal.provider.permissions(account.role)
    if (pupil_data and not perms.sees_pupil_data) or (log_access and not perms.sees_privacy_log):
        text = "Je rol geeft geen toegang tot deze pagina (protocol art. 4)."
        raise Refused(portal.message(session, "Geen toegang", text, 403, back="/personeel"))
    missing = missing_bonds(account) if pupil_data else ()
    if missing:  # art. 6: bound by confidentiality and made aware before any pupil data
        raise Refused(portal.page("staff_unbound.html", session, 403, missing=missing))
    if pupil_data and profile_missing(portal.provider.settings.profiles, account):
        text = (  # art. 4, second indent: what one sees follows from one's function profile
            "Je account heeft geen functieprofiel dat LARS kent, dus zie je geen "
            "leerlingengegevens. De DPO of een beheerder van het personeel geeft je er een."
        )
        raise Refused(portal.message(session, "Geen functieprofiel", text, 403, back="/personeel"))
    if manage and not may_manage(portal.provider, account):
        text = "Enkel de DPO of een beheerder van het personeel beheert medewerkers."
        raise Refused(portal.message(session, "Geen toegang", text, 403, back="/personeel"))
    return Staff(session, account.username, account.role)


def staff(
    *, pupil_data: bool = False, log_access: bool = False, manage: bool = False
) -> Callable[[Request], Awaitable[Staff]]:
    """A dependency: a staff member (any role, or one that sees pupil data or the log, or
    manages staff)."""

    async def dependency(request: Request) -> Staff:
        portal = portal_of(request)
        session = portal.sealer.read(request)
        return check_staff(
            portal, session, pupil_data=pupil_data, log_access=log_access, manage=manage
        )

    return dependency


def staff_post(
    *, pupil_data: bool = False, log_access: bool = False, manage: bool = False
) -> Callable[[Request], Awaitable[StaffPost]]:
    """A dependency: a staff member's form post, role checked (art. 4), CSRF token checked."""
    member = staff(pupil_data=pupil_data, log_access=log_access, manage=manage)

    async def dependency(request: Request) -> StaffPost:
        who = await member(request)
        form = await form_with_csrf(request, who.session)
        if form is None:
            message = portal_of(request).message(
                who.session, NOT_ALLOWED, "Het formulier was verlopen.", 403
            )
            raise Refused(message)
        return StaffPost(who.session, who.username, who.role, form)

    return dependency


def _visitor_post(*, pupil: bool) -> Callable[[Request], Awaitable[Visitor]]:
    async def dependency(request: Request) -> Visitor:
        portal = portal_of(request)
        session = portal.sealer.read(request)
        form = await form_with_csrf(request, session) if session.get("pupil") or not pupil else None
        if form is None:
            text = "Deze aanvraag is niet geldig."
            raise Refused(portal.message(session, NOT_ALLOWED, text, 403))
        return Visitor(session, form)

    return dependency


pupil_post = _visitor_post(pupil=True)
"""A dependency: the logged-in pupil's form post with a valid CSRF token."""

signed_post = _visitor_post(pupil=False)
"""A dependency: a form post with a valid CSRF token, whoever sends it (a logout)."""

PortalDep = Annotated[Portal, Depends(portal_of)]
Session = Annotated[dict[str, Any], Depends(read_session)]
AnyStaff = Annotated[Staff, Depends(staff())]
PupilDataStaff = Annotated[Staff, Depends(staff(pupil_data=True))]
DpoStaff = Annotated[Staff, Depends(staff(log_access=True))]
PupilDataStaffPost = Annotated[StaffPost, Depends(staff_post(pupil_data=True))]
DpoStaffPost = Annotated[StaffPost, Depends(staff_post(log_access=True))]
StaffManager = Annotated[Staff, Depends(staff(manage=True))]
StaffManagerPost = Annotated[StaffPost, Depends(staff_post(manage=True))]
PupilPost = Annotated[Visitor, Depends(pupil_post)]
SignedPost = Annotated[Visitor, Depends(signed_post)]
