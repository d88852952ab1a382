"""The console's one guard (issue 13): the sealed session, the account and role read from
the database on every request (art. 4), the art. 6 dates before pupil data, the CSRF token.

Every check is a FastAPI dependency; a refusal raises :class:`Refused`, whose response the
handler installed by ``install`` sends. No session: 303 to ``/beheer/aanmelden``. A
disabled account: its cookie is cleared and the same 303. A role that may not see the page:
403 "Je rol geeft geen toegang tot deze pagina". Any account, operator or DPO, without both
art. 6 dates on a page with pupil data or a breach's contents: 403 naming the missing date.
A form without this session's CSRF token: 403.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from leerid.idp.console.nav import DPO, OPERATOR
from leerid.idp.console.pages import Console, console_of
from leerid.idp.store.console.staff import active_staff, missing_dates
from leerid.idp.web.login import form_fields

__all__ = [
    "SESSION_COOKIE",
    "SESSION_PURPOSE",
    "AnyStaff",
    "AnyStaffPost",
    "ConsoleDep",
    "Dpo",
    "DpoPost",
    "Operator",
    "OperatorPost",
    "OperatorPupilData",
    "OperatorPupilDataPost",
    "PupilDataDpo",
    "PupilDataDpoPost",
    "PupilDataStaff",
    "Refused",
    "Staff",
    "StaffPost",
    "open_session",
    "refused",
]

SESSION_COOKIE = "beheer_sessie"
SESSION_PURPOSE = "beheer-sessie"
LOGIN_PATH = "/beheer/aanmelden"
NO_ACCESS = "Geen toegang"
ROLE_REFUSED = "Je rol geeft geen toegang tot deze pagina."


class Refused(Exception):  # noqa: N818 (a refusal is an answer, not an error)
    """A guard's refusal: ``response`` is what the visitor gets instead of the page."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


@dataclass(frozen=True)
class Staff:
    """A console account checked on this request: active, its role read from the database."""

    username: str
    role: str
    csrf: str


@dataclass(frozen=True)
class StaffPost(Staff):
    """A form post of a checked account with this session's CSRF token; ``form`` its fields."""

    form: dict[str, str]


def open_session(console: Console, request: Request) -> dict[str, Any] | None:
    """The sealed session of this browser (None: absent, altered, foreign or expired);
    not yet checked against logouts (the guard does: ``session_ended`` of its ``s``)."""
    data = console.ctx.sealer.open(SESSION_PURPOSE, request.cookies.get(SESSION_COOKIE))
    if data is None or not all(isinstance(data.get(k), str) for k in ("u", "c", "s")):
        return None
    return data


def _to_login(console: Console, clear: bool) -> Refused:
    response = RedirectResponse(LOGIN_PATH, 303, headers={"Cache-Control": "no-store"})
    if clear:
        console.clear_cookie(response, SESSION_COOKIE)
    return Refused(response)


async def _checked(request: Request, roles: tuple[str, ...], pupil_data: bool) -> Staff:
    console = console_of(request)
    session = open_session(console, request)
    if session is None:
        raise _to_login(console, clear=SESSION_COOKIE in request.cookies)
    ctx = console.ctx
    if await ctx.run(ctx.store.session_ended, session["s"]):  # logged out: on every node
        raise _to_login(console, clear=True)
    # Art. 4: a disabled account or a changed role counts at once, not when the cookie ends.
    account = await ctx.run(active_staff, ctx.engine, session["u"])
    if account is None or not hmac.compare_digest(str(session.get("p", "")), account.mark):
        raise _to_login(console, clear=True)  # disabled, or its password changed since
    who = Staff(account.username, account.role, session["c"])
    if account.role not in roles:
        raise Refused(console.message(who, NO_ACCESS, ROLE_REFUSED, 403))
    missing = missing_dates(account) if pupil_data else ()
    if missing:  # art. 6: bound by confidentiality and made aware before any pupil data
        text = (
            "Art. 6 van het protocol: leerlingengegevens zie je pas als beide data zijn "
            f"vastgelegd. Ontbreekt: {' en '.join(missing)}. Vraag ze vast te leggen met "
            "leerid beheer staff dates."
        )
        raise Refused(console.message(who, NO_ACCESS, text, 403))
    return who


def _member(
    roles: tuple[str, ...], pupil_data: bool = False
) -> Callable[[Request], Awaitable[Staff]]:
    async def dependency(request: Request) -> Staff:
        return await _checked(request, roles, pupil_data)

    return dependency


def _post(
    roles: tuple[str, ...], pupil_data: bool = False
) -> Callable[[Request], Awaitable[StaffPost]]:
    async def dependency(request: Request) -> StaffPost:
        who = await _checked(request, roles, pupil_data)
        form = await form_fields(request)
        sent = form.get("csrf_token", "")
        if not hmac.compare_digest(sent.encode(), who.csrf.encode()):
            text = "Het formulier was verlopen of kwam niet van deze pagina. Probeer opnieuw."
            raise Refused(console_of(request).message(who, "Niet toegestaan", text, 403))
        return StaffPost(who.username, who.role, who.csrf, form)

    return dependency


_BOTH = (OPERATOR, DPO)
ConsoleDep = Annotated[Console, Depends(console_of)]
AnyStaff = Annotated[Staff, Depends(_member(_BOTH))]
Operator = Annotated[Staff, Depends(_member((OPERATOR,)))]
Dpo = Annotated[Staff, Depends(_member((DPO,)))]
OperatorPupilData = Annotated[Staff, Depends(_member((OPERATOR,), pupil_data=True))]
AnyStaffPost = Annotated[StaffPost, Depends(_post(_BOTH))]
OperatorPost = Annotated[StaffPost, Depends(_post((OPERATOR,)))]
DpoPost = Annotated[StaffPost, Depends(_post((DPO,)))]
OperatorPupilDataPost = Annotated[StaffPost, Depends(_post((OPERATOR,), pupil_data=True))]
# Art. 6: every role, the DPO too, sees pupil data or a breach's contents only when dated.
PupilDataStaff = Annotated[Staff, Depends(_member(_BOTH, pupil_data=True))]
PupilDataDpo = Annotated[Staff, Depends(_member((DPO,), pupil_data=True))]
PupilDataDpoPost = Annotated[StaffPost, Depends(_post((DPO,), pupil_data=True))]


async def refused(_request: Request, exc: Exception) -> Response:
    """The exception handler that answers a :class:`Refused` (installed by ``create_app``)."""
    if not isinstance(exc, Refused):  # registered for Refused only
        raise exc
    return exc.response
