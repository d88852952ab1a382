"""The staff's pages: login and logout, the overview, the pupils and their file (art. 4, 7)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from leerid.errors import LeeridError, NotFoundError
from leerid.sp.kit import events_state, quality_reports
from leerid.sp.kit.dpo_attention import attention
from leerid.sp.kit.dpo_views import parse_day
from leerid.sp.kit.free_text import InszInFreeTextError, dutch_message
from leerid.sp.kit.need_to_know import PupilSearch, SearchRefusedError, missing_bonds
from leerid.sp.kit.orgcode import normalise_orgcode
from leerid.sp.kit.staff import authenticate, get_staff
from leerid.sp.kit.staff_admin import may_manage
from leerid.sp.portal import page_texts
from leerid.sp.portal.guard import (
    AnyStaff,
    Portal,
    PortalDep,
    PupilDataStaff,
    PupilDataStaffPost,
    Session,
    SignedPost,
    Staff,
    form_with_csrf,
)

log = logging.getLogger("leerid.sp.portal")

router = APIRouter()

PUPILS = "/personeel/leerlingen"


@router.get("/personeel/aanmelden", response_class=HTMLResponse)
async def staff_login_form(portal: PortalDep, session: Session) -> Response:
    return portal.page(
        "staff_login.html", {"csrf": session.get("csrf")} if session.get("csrf") else {}
    )


@router.post("/personeel/aanmelden")
async def staff_login(request: Request, portal: PortalDep, session: Session) -> Response:
    """Art. 4: the staff login, throttled per account and address (issue 8 §5)."""
    form = await form_with_csrf(request, session)
    if form is None:
        return portal.page(
            "staff_login.html", {}, 400, error="Het formulier was verlopen. Probeer opnieuw."
        )
    name = form.get("gebruikersnaam", "")[:80]
    address = request.client.host if request.client else "-"
    wait = await asyncio.to_thread(portal.throttle.admit, name, address)  # reserved
    if wait:
        return portal.page(
            "staff_login.html",
            session,
            429,
            error=f"Te veel mislukte pogingen. Probeer opnieuw over {-(-wait // 60)} minuten.",
            username=name,
        )
    account = await asyncio.to_thread(
        authenticate,
        portal.provider.engine,
        form.get("gebruikersnaam", ""),
        form.get("wachtwoord", ""),
    )
    if account is None:  # the same answer for unknown names and wrong passwords
        await asyncio.to_thread(portal.throttle.failed, name, address)
        return portal.page(
            "staff_login.html",
            session,
            401,
            error="Gebruikersnaam of wachtwoord klopt niet.",
            username=form.get("gebruikersnaam", "")[:80],
        )
    await asyncio.to_thread(portal.throttle.succeeded, name)
    response = RedirectResponse("/personeel", 303)
    manages = await asyncio.to_thread(may_manage, portal.provider, account)
    session = {"staff": account.username, "role": account.role, "manages": manages, "exp": None}
    portal.sealer.write(response, session)
    return response


@router.post("/personeel/afmelden")
async def staff_logout(portal: PortalDep, _posted: SignedPost) -> Response:
    response = RedirectResponse("/", 303)
    portal.sealer.write(response, {"flash": page_texts.STAFF_LOGGED_OUT})  # no identity is kept
    return response


@router.get("/personeel", response_class=HTMLResponse)
async def staff_home(portal: PortalDep, who: AnyStaff) -> Response:
    counts = await asyncio.to_thread(portal.provider.counts)
    perms = portal.provider.permissions(who.role)
    account = await asyncio.to_thread(get_staff, portal.provider.engine, who.username)
    missing = missing_bonds(account) if account is not None and perms.sees_pupil_data else ()
    manages = account is not None and may_manage(portal.provider, account)
    sync = (
        await asyncio.to_thread(events_state.sync_status, portal.provider.engine)
        if perms.sees_privacy_log
        else None
    )
    # art. 6, 7, 9: what needs the DPO now, each with the page that holds it
    todo = await asyncio.to_thread(attention, portal.provider) if perms.sees_privacy_log else None
    return portal.page(
        "staff_home.html",
        who.session,
        staff=who.username,
        perms=perms,
        counts=counts,
        sync=sync,
        missing=missing,
        manages=manages,
        todo=todo,
        state=portal.provider.protocol_state(),
    )


SHOWN = {
    "voornaam": "Voornaam",
    "naam": "Naam",
    "leer_id_uuid": "Leerlingensleutel",
    "account_uuid": "Accountnummer",
    "instellingsnummer": "Scholen",
}
"""Art. 3 attributes as a staff page names them (only those of the person's profile show)."""


def search_query(params: Mapping[str, str]) -> PupilSearch:
    """The search form's fields as a search; ValueError with a Dutch message per field."""
    school_text = params.get("school", "").strip()
    school = normalise_orgcode(school_text) if school_text else None
    if school_text and school is None:
        raise ValueError("School: geef een instellingsnummer van hoogstens zes cijfers.")
    page = params.get("pagina", "1")
    return PupilSearch(
        name=params.get("naam", "")[:100],
        school=school,
        login_from=parse_day(params, "van", "Laatste aanmelding vanaf"),
        login_to=parse_day(params, "tot", "Laatste aanmelding tot en met"),
        page=int(page) if page.isdigit() and 0 < int(page) < 100000 else 1,
    )


@router.get(PUPILS, response_class=HTMLResponse)
async def staff_pupils(request: Request, portal: PortalDep, who: PupilDataStaff) -> Response:
    """Art. 4: search the pupils of one's own schools (each search is in the privacy log)."""
    params = dict(request.query_params)
    context: dict[str, Any] = {"params": params, "shown": SHOWN, "current": PUPILS}
    try:
        query = search_query(params)
        found = await asyncio.to_thread(
            portal.provider.search_pupils, who.username, who.role, query
        )
    except ValueError as exc:
        return portal.page("staff_pupils.html", who.session, 400, error=str(exc), **context)
    except SearchRefusedError as exc:
        return portal.page("staff_pupils.html", who.session, 400, error=exc.dutch, **context)
    more = {**params, "pagina": str(found.page + 1)}
    return portal.page(
        "staff_pupils.html", who.session, found=found, next_query=urlencode(more), **context
    )


def _pupil_key(portal: Portal, who: Staff, form: Mapping[str, str]) -> str:
    """The pupil behind the page's reference (sealed for this person only), or ""."""
    return portal.provider.open_ref(who.username, form.get("sleutel", "")) or ""


NOT_FOUND = "Geen leerling gevonden binnen je scholen; open de leerling opnieuw uit de lijst."


@router.post("/personeel/leerlingen/open", response_class=HTMLResponse)
async def staff_pupil(portal: PortalDep, posted: PupilDataStaffPost) -> Response:
    """Art. 4: one pupil's file, opened for a stated purpose (written to the privacy log)."""
    session, form = posted.session, posted.form
    purpose = form.get("doel", "").strip()
    if not purpose:
        return portal.message(
            session,
            "Doel ontbreekt",
            "Geef het doel van de inzage op (het komt in het privacylog).",
            400,
            back=PUPILS,
        )
    try:
        pupil = await asyncio.to_thread(
            portal.provider.view_pupil,
            posted.username,
            posted.role,
            _pupil_key(portal, posted, form),
            purpose,
        )
    except NotFoundError:
        return portal.message(session, "Niet gevonden", NOT_FOUND, 404, back=PUPILS)
    except LeeridError as exc:
        return portal.message(session, "Niet toegestaan", dutch_message(exc), 400, back=PUPILS)
    return portal.page(
        "staff_pupil.html",
        session,
        pupil=pupil,
        shown=SHOWN,
        purpose=purpose,
        names=portal.names,
        statuses=page_texts.REPORT_STATUS,
        attributes=portal.attribute_choices(pupil.attributes),
        record_types=portal.provider.settings.dossier.record_types,
        problems=quality_reports.PROBLEMS,
    )


@router.post("/personeel/leerlingen/dossier")
async def staff_dossier(request: Request, portal: PortalDep, who: PupilDataStaff) -> Response:
    """Art. 3: an activity in the pupil's file, which keeps the file alive."""
    session = who.session
    form = await form_with_csrf(request, session)
    if form is None or not form.get("tekst", "").strip():
        text = "Het formulier was leeg of verlopen."
        return portal.message(session, "Niet toegestaan", text, 400, back=PUPILS)
    try:
        await asyncio.to_thread(
            portal.provider.add_dossier_entry,
            who.username,
            who.role,
            _pupil_key(portal, who, form),
            form["tekst"].strip()[:2000],
            form.get("soort") or portal.provider.settings.dossier.record_types[0],
        )
    except NotFoundError:
        return portal.message(session, "Niet gevonden", NOT_FOUND, 404, back=PUPILS)
    except LeeridError as exc:
        return portal.message(session, "Niet bewaard", dutch_message(exc), 400, back=PUPILS)
    return portal.redirect_with(session, PUPILS, "Activiteit geregistreerd.")


@router.post("/personeel/leerlingen/melding", response_class=HTMLResponse)
async def staff_report(portal: PortalDep, posted: PupilDataStaffPost) -> Response:
    """Art. 7: a data-quality report to the Department about one attribute of a pupil."""
    session, form = posted.session, posted.form
    heading = "Melding niet verzonden"
    pupil_key = _pupil_key(portal, posted, form)
    try:  # the kit checks art. 4, 6: bound, and a pupil of one's own schools
        code = await quality_reports.report_wrong_data(
            portal.provider,
            portal.rp,
            actor=posted.username,
            role=posted.role,
            pupil_key=pupil_key,
            attribute=form.get("attribuut", ""),
            problem=form.get("probleem", ""),
            comment=form.get("toelichting", ""),
        )
    except NotFoundError:
        return portal.message(session, heading, NOT_FOUND, 404, back=PUPILS)
    except quality_reports.ReportRefusedError as exc:  # bad input: say what to correct
        return portal.message(session, heading, exc.message, exc.status, back=PUPILS)
    except InszInFreeTextError as exc:
        return portal.message(session, heading, exc.dutch, 400, back=PUPILS)
    except LeeridError as exc:
        log.warning("report not sent: %s", exc.message)
        return portal.message(session, heading, page_texts.REPORT_NOT_SENT, 502, back=PUPILS)
    text = f"Melding {code} is verzonden naar het Departement (art. 7)."
    return portal.message(session, "Melding verzonden", text, 200, back=PUPILS)
