"""The pupil's pages: the home page, the login through LeerID, my data (art. 3), the logout."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from leerid.sp.kit import quality_reports
from leerid.sp.kit.login_claims import ClaimError, read_login
from leerid.sp.kit.relying_party import LoginError, PendingLogin
from leerid.sp.portal import page_texts
from leerid.sp.portal.following import PROTOCOL_REASONS, before_login
from leerid.sp.portal.guard import PortalDep, PupilPost, Session, SignedPost
from leerid.sp.portal.state import PAGE_HEADERS, Portal

log = logging.getLogger("leerid.sp.portal")

router = APIRouter()

REFUSAL_TEXT = {
    "no_enrolment": "Je bent op dit moment in geen enkele school ingeschreven.",
    "no_partner_school": "Je school werkt niet samen met deze toepassing.",
    "protocol_not_in_force": "Het protocol met het Departement is niet (meer) van kracht.",
}


@router.get("/", response_class=HTMLResponse)
async def home(portal: PortalDep, session: Session) -> Response:
    if session.get("pupil"):
        return RedirectResponse("/mijn-gegevens", 303)
    return portal.page("home.html", session)


@router.get("/aanmelden")
async def login(portal: PortalDep, session: Session) -> Response:
    refusal = await before_login(portal.events, portal.provider)
    if refusal is not None:  # art. 8, 11: no signed protocol in force, no login
        log.info("login refused: %s", refusal)
        return portal.protocol_refused(refusal)
    try:
        url, pending = await portal.rp.begin()
    except LoginError as exc:
        log.warning("login start failed: %s", exc.code)
        return portal.message(
            session,
            "LeerID is niet bereikbaar",
            "Aanmelden lukt nu niet. Probeer het over enkele minuten opnieuw.",
            503,
        )
    response = RedirectResponse(url, 303)
    portal.sealer.write(response, {"pending": pending.__dict__, "exp": None})
    return response


def _login_failed(portal: Portal, text: str) -> Response:
    return portal.message({}, "Aanmelden mislukt", text, 400, back="/aanmelden")


@router.get("/callback")
async def callback(request: Request, portal: PortalDep, session: Session) -> Response:
    """The answer of LeerID: code exchange, ID token and claims checked, then the gate."""
    pending_data = session.get("pending")
    if not isinstance(pending_data, dict):
        return _login_failed(
            portal, "Je aanmelding is verlopen of begon in een andere browser. Meld opnieuw aan."
        )
    try:
        result = await portal.rp.finish(dict(request.query_params), PendingLogin(**pending_data))
        login = read_login(result.claims)
    except (LoginError, ClaimError) as exc:
        log.warning("login failed: %s", getattr(exc, "code", "claims"))
        return _login_failed(
            portal, "De aanmelding via LeerID kon niet worden gecontroleerd. Meld opnieuw aan."
        )
    admission = await asyncio.to_thread(portal.provider.admit, login)
    if not admission.decision.admitted:
        log.info("access refused: %s", admission.decision.reason)
        if admission.decision.reason in PROTOCOL_REASONS:
            return portal.protocol_refused(admission.decision.reason)
        text = REFUSAL_TEXT.get(admission.decision.reason, "Geen toegang.")
        return portal.page("no_access.html", {}, 403, message=text)
    new_session = {
        "pupil": login.pupil_key,
        "at": result.access_token,
        "idt": result.id_token,
        "exp": None,
    }
    target = (
        "/mijn-gegevens?gekoppeld=1"
        if admission.outcome and admission.outcome.merged_keys
        else "/mijn-gegevens"
    )
    response = RedirectResponse(target, 303)
    portal.sealer.write(response, new_session)
    return response


async def _disclosures(portal: Portal, access_token: str) -> list[dict[str, Any]] | None:
    """What the Department disclosed about the pupil, or None when it cannot be read now."""
    disclosures: list[dict[str, Any]] | None = None
    try:
        url = await quality_reports.endpoint(portal.rp, "disclosures") + "/mine"
        response = await portal.rp.get_bearer(url, access_token)
        if response.status_code == 200:
            disclosures = [
                portal.readable_disclosure(d) for d in response.json().get("disclosures", [])
            ]
    except Exception as exc:  # the page still shows what we hold
        log.warning("disclosures could not be fetched (%s)", type(exc).__name__)
    return disclosures


@router.get("/mijn-gegevens", response_class=HTMLResponse)
async def my_data(request: Request, portal: PortalDep, session: Session) -> Response:
    key = session.get("pupil")
    if not key:
        return RedirectResponse("/", 303)
    snapshot = await asyncio.to_thread(portal.provider.snapshot, key)
    if snapshot is None:
        return portal.message(
            {}, "Geen gegevens", "Er zijn geen gegevens (meer) over jou bewaard.", 404
        )
    return portal.page(
        "pupil.html",
        session,
        snapshot=snapshot,
        pupil=snapshot,
        disclosures=await _disclosures(portal, session["at"]),
        merged=request.query_params.get("gekoppeld") == "1",
        retention=portal.provider.retention_period.dutch(),
    )


@router.post("/mijn-gegevens/inzage")
async def access_request(portal: PortalDep, posted: PupilPost) -> Response:
    """GDPR art. 15: the pupil's own data as a file (the only route that sends pupil data)."""
    body = await asyncio.to_thread(portal.provider.access_request, posted.session["pupil"])
    return Response(
        body,
        media_type="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="mijn-gegevens.json"',
            **PAGE_HEADERS,
        },
    )


@router.post("/afmelden")
async def logout(portal: PortalDep, posted: SignedPost) -> Response:
    target = "/"
    with contextlib.suppress(LoginError):
        target = await portal.rp.logout_url(posted.session.get("idt")) or "/"
    response = RedirectResponse(target, 303)
    portal.sealer.write(response, {"flash": page_texts.LOGGED_OUT})  # no identity is kept
    return response
