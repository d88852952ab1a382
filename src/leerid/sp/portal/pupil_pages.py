"""The pupil's pages: the home page, the login through LeerID, my data (art. 3, GDPR art. 15),
the report of wrong data (art. 7), the logout.

These pages are the app GLCE of the protocol's title ("via de app GLCE"): the pupil-facing app
through which LARS authenticates pupils (/aanmelden → /callback → /mijn-gegevens)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from leerid.errors import LeeridError, NotFoundError
from leerid.protocol.attributes import Condition
from leerid.sp.kit import access_request, log_receipts, quality_reports
from leerid.sp.kit.access_request import OwnReport
from leerid.sp.kit.free_text import InszInFreeTextError
from leerid.sp.kit.login_claims import ClaimError, MissingAccountError, read_login
from leerid.sp.kit.relying_party import LoginError, PendingLogin
from leerid.sp.portal import page_texts
from leerid.sp.portal.following import PROTOCOL_REASONS, before_login
from leerid.sp.portal.guard import PortalDep, PupilPost, Session, SignedPost
from leerid.sp.portal.state import PAGE_HEADERS, Portal
from leerid.sp.portal.templating import render, spoken

log = logging.getLogger("leerid.sp.portal")

router = APIRouter()

MY_DATA = "/mijn-gegevens"
REPORT_FORM = "/mijn-gegevens#melden"

REFUSAL_TEXT = {
    "no_enrolment": "Je bent op dit moment in geen enkele school ingeschreven.",
    "no_partner_school": "Je school werkt niet samen met deze toepassing.",
    "protocol_not_in_force": "Het protocol met het Departement is niet (meer) van kracht.",
}

NO_ACCOUNT_TEXT = (
    "Bij je aanmelding kregen we niet door welke LeerID-account je hebt. Dat is niet jouw "
    "fout: de beheerders van deze toepassing moeten het oplossen. Probeer het later opnieuw."
)


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
        log.warning("login start failed: %s (%s)", exc.code, exc.message)  # no pupil data
        return portal.message(
            session,
            "LeerID is niet bereikbaar",
            "Aanmelden lukt nu niet. Probeer het over enkele minuten opnieuw.",
            503,
        )
    response = RedirectResponse(url, 303)
    portal.sealer.write(response, {"exp": None})  # a new login starts a new session
    portal.sealer.write_pending(response, pending.__dict__)
    return response


CHECK_FAILED_TEXT = "De aanmelding via LeerID kon niet worden gecontroleerd. Meld opnieuw aan."

WRONG_METHOD_TEXT = (
    "Het antwoord van LeerID kwam op een andere manier terug dan deze toepassing vroeg, en "
    "wordt daarom niet aanvaard. Meld opnieuw aan; lukt het dan nog niet, laat het de "
    "beheerders van deze toepassing weten."
)

ANSWER_METHOD = {"query": "GET", "form_post": "POST"}
"""How each response mode brings the answer back: the query of a redirect (RFC 6749 §4.1.2),
or a POST (OAuth 2.0 Form Post Response Mode §2)."""


def _login_failed(portal: Portal, text: str, *, ends_login: bool = True) -> Response:
    """The page of a failed login; ``ends_login``: the answer was this login's own (its
    ``state`` matched), so the pending login is used up (one answer per pending login)."""
    response = portal.message({}, "Aanmelden mislukt", text, 400, back="/aanmelden")
    if ends_login:
        portal.sealer.clear_pending(response)
    return response


async def _answer(request: Request) -> dict[str, str]:
    """The authorization response: the query of a GET (RFC 6749 §4.1.2), or the form of a
    POST (OAuth 2.0 Form Post Response Mode §2, ``application/x-www-form-urlencoded``)."""
    if request.method == "POST":
        return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    return dict(request.query_params)


def _refusal(request: Request, answer: dict[str, str], pending: PendingLogin) -> str | None:
    """Why an answer is not this login's, before any code exchange, or None.

    A wrong ``state`` (RFC 6749 §10.12): the answer belongs to no login of this browser (a
    forged cross-site POST, an old tab), so the login in progress stays intact and its own
    answer still succeeds. The answer by the other method than this login's response mode
    (kept in its pending-login cookie) is refused: under ``form_post`` a code in the URL
    would be one the mode exists to keep out of URLs, histories and Referer headers."""
    if not pending.answers(answer):
        log.warning("login failed: state_mismatch")
        return "state_mismatch"
    expected = ANSWER_METHOD.get(pending.response_mode, "GET")
    if request.method != expected:
        log.warning(
            "login refused: the answer came by %s, response_mode %s answers by %s",
            request.method,
            pending.response_mode,
            expected,
        )
        return "wrong_method"
    return None


@router.api_route("/callback", methods=["GET", "POST"])
async def callback(request: Request, portal: PortalDep) -> Response:
    """The answer of the provider (LeerID, or ACM/IDM): code exchange, ID token and claims
    checked, then the gate. The answer comes by the method of the login's response mode (a
    GET for query, a POST for form_post), with the pending login of this browser (its own
    cookie, see ``browser_session``), ``state`` compared with it, RFC 9207 ``iss``, PKCE and
    the nonce. The POST comes from the provider's page, not from ours, so it carries no CSRF
    token of the portal: ``state``, bound to the pending-login cookie, is what protects it
    (RFC 6749 §10.12)."""
    pending_data = portal.sealer.read_pending(request)
    if not pending_data:
        return _login_failed(
            portal, "Je aanmelding is verlopen of begon in een andere browser. Meld opnieuw aan."
        )
    pending = PendingLogin(**pending_data)
    answer = await _answer(request)
    refusal = _refusal(request, answer, pending)
    if refusal == "state_mismatch":
        return _login_failed(portal, CHECK_FAILED_TEXT, ends_login=False)
    if refusal is not None:
        return _login_failed(portal, WRONG_METHOD_TEXT)
    try:
        result = await portal.rp.finish(answer, pending)
        # issue 12 §3: what DOV disclosed waits for its inclusion proof, admitted or not
        await asyncio.to_thread(log_receipts.record_received, portal.provider, result.received)
        login = read_login(result.claims)
    except MissingAccountError as exc:  # the operator's to fix: the message says how
        log.warning("login refused: %s", exc.message)
        return _login_failed(portal, NO_ACCOUNT_TEXT)
    except (LoginError, ClaimError) as exc:
        log.warning("login failed: %s", getattr(exc, "code", "claims"))
        return _login_failed(portal, CHECK_FAILED_TEXT)
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
    response = RedirectResponse(target, 303)  # a POST answered with a 303: the next page
    portal.sealer.write(response, new_session)
    portal.sealer.clear_pending(response)
    return response


async def _disclosures(portal: Portal, access_token: str) -> list[dict[str, Any]] | None:
    """What the Department disclosed about the pupil, or None when it cannot be read now."""
    disclosures: list[dict[str, Any]] | None = None
    try:
        url = await quality_reports.endpoint(portal.rp, "disclosures") + "/mine"
        response = await portal.rp.get_bearer(url, access_token)
        if response.status_code == 200:
            disclosures = list(response.json().get("disclosures", []))
    except Exception as exc:  # the page still shows what we hold
        log.warning("disclosures could not be fetched (%s)", type(exc).__name__)
    return disclosures


def _words(portal: Portal) -> dict[str, str]:
    """Each claim in the pupil's own words (GDPR art. 15: plain language for a child)."""
    others = {c: w for c, w in portal.names.items() if c not in page_texts.PUPIL_WORDS}
    return {**page_texts.PUPIL_WORDS, **others}


def _choices(portal: Portal, report: OwnReport) -> list[tuple[str, str]]:
    """Art. 7: the data a pupil may report, among the data LARS received (art. 3; without
    the logins, the protocol's attributes that need no decretal basis, which LARS lacks)."""
    received = {c for line in report.logins or () for c in line.claims}
    words = _words(portal)
    return [
        (str(a.claim.value), words[str(a.claim.value)])
        for a in portal.provider.protocol.data.attributes
        if (str(a.claim.value) in received)
        or (not received and Condition.DECRETAL_BASIS not in a.conditions)
    ]


@router.get("/mijn-gegevens", response_class=HTMLResponse)
async def my_data(request: Request, portal: PortalDep, session: Session) -> Response:
    """GDPR art. 15: the pupil's own page, in words a 12-year-old reads."""
    key = session.get("pupil")
    if not key:
        return RedirectResponse("/", 303)
    disclosures = await _disclosures(portal, session["at"])
    report = await asyncio.to_thread(access_request.build, portal.provider, key, disclosures)
    if report is None:
        return portal.message(
            {}, "Geen gegevens", "Er zijn geen gegevens (meer) over jou bewaard.", 404
        )
    return portal.page(
        "pupil.html",
        session,
        report=report,
        pupil=report.pupil,
        words=_words(portal),
        in_words=access_request.in_words,
        choices=_choices(portal, report),
        problems=page_texts.PUPIL_PROBLEMS,
        limit=page_texts.PUPIL_REPORT_LIMIT,
        statuses=page_texts.REPORT_STATUS,
        merged=request.query_params.get("gekoppeld") == "1",
        current=MY_DATA,
    )


@router.post("/mijn-gegevens/inzage")
async def download(portal: PortalDep, posted: PupilPost) -> Response:
    """GDPR art. 15: the pupil's own data as a file, a web page (HTML) or JSON; the only
    route that sends pupil data, and only the logged-in pupil's own (art. 4)."""
    form = posted.form.get("formaat", "json")
    if form not in access_request.FORMATS:
        text = "Kies een webpagina (HTML) of een bestand voor computers (JSON)."
        return portal.message(posted.session, "Niet gelukt", text, 400, back=MY_DATA)
    disclosures = await _disclosures(portal, posted.session["at"])
    try:
        report = await asyncio.to_thread(
            access_request.request_copy,
            portal.provider,
            posted.session["pupil"],
            disclosures,
            form,
        )
    except NotFoundError:
        text = "Er zijn geen gegevens (meer) over jou bewaard."
        return portal.message(posted.session, "Geen gegevens", text, 404)
    words = _words(portal)
    if form == "json":
        body, media = access_request.as_text(report, words), "application/json"
    else:
        body, media = _standalone(portal, report, words), "text/html; charset=utf-8"
    return Response(
        body,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="mijn-gegevens.{form}"',
            **PAGE_HEADERS,
        },
    )


def _standalone(portal: Portal, report: OwnReport, words: dict[str, str]) -> str:
    """The page's content as one HTML file: the style inside, no script, no links out."""
    return render(
        "pupil_download.html",
        site=portal.site,
        nav=[],
        standalone=True,
        report=report,
        pupil=report.pupil,
        words=words,
        in_words=access_request.in_words,
        statuses=page_texts.REPORT_STATUS,
        made=spoken(dt.datetime.now(dt.UTC)),
    )


@router.post("/mijn-gegevens/melding", response_class=HTMLResponse)
async def report_error(portal: PortalDep, posted: PupilPost) -> Response:
    """Art. 7: the pupil reports wrong data; LARS keeps the report and sends it to the
    Department at once ("meldt zij dat onmiddellijk schriftelijk")."""
    session, form = posted.session, posted.form
    heading = "Melding niet verstuurd"
    comment = form.get("uitleg", "").strip()
    problem = None
    if not comment:
        problem = page_texts.PUPIL_REPORT_EMPTY
    elif len(comment) > page_texts.PUPIL_REPORT_LIMIT:
        problem = page_texts.PUPIL_REPORT_TOO_LONG
    if problem is not None:
        return portal.message(session, heading, problem, 400, back=REPORT_FORM)
    try:
        code = await quality_reports.report_own_data(
            portal.provider,
            portal.rp,
            pupil_key=session["pupil"],
            attribute=form.get("gegeven", ""),
            problem=form.get("probleem", ""),
            comment=comment,
        )
    except InszInFreeTextError:
        return portal.message(session, heading, page_texts.PUPIL_REPORT_INSZ, 400, back=REPORT_FORM)
    except quality_reports.ReportRefusedError as exc:  # bad input or the cap: what to do
        return portal.message(session, heading, exc.message, exc.status, back=REPORT_FORM)
    except LeeridError as exc:
        log.warning("pupil report not sent: %s", type(exc).__name__)
        text = page_texts.PUPIL_REPORT_NOT_SENT
        return portal.message(session, "Melding bewaard", text, 502, back=MY_DATA)
    text = page_texts.PUPIL_REPORT_SENT.format(code=code)
    return portal.message(session, "Melding verstuurd", text, 200, back=MY_DATA)


@router.post("/afmelden")
async def logout(portal: PortalDep, posted: SignedPost) -> Response:
    target = "/"
    with contextlib.suppress(LoginError):
        target = await portal.rp.logout_url(posted.session.get("idt")) or "/"
    response = RedirectResponse(target, 303)
    portal.sealer.write(response, {"flash": page_texts.LOGGED_OUT})  # no identity is kept
    return response
