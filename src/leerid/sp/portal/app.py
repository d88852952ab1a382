"""The LARS portal: the reference application on the kit (server-rendered, Dutch).

Pupils log in through LeerID and see what the provider holds about them and what the
Department disclosed to it; staff log in with their own accounts and see, by role, pupils,
the privacy log, data-quality reports, breaches and the evidence of the measures.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hmac
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi import FastAPI, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from leerid.edge import EdgeGuard
from leerid.errors import LeeridError, NotFoundError
from leerid.protocol.lifecycle import BRUSSELS
from leerid.sp.kit import breaches, privacy_log, quality_reports, retention
from leerid.sp.kit.evidence import collect
from leerid.sp.kit.free_text import InszInFreeTextError, dutch_message
from leerid.sp.kit.login_claims import ClaimError, read_login
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.relying_party import LoginError, PendingLogin, RelyingParty
from leerid.sp.kit.staff import authenticate, get_staff, list_staff
from leerid.sp.kit.staff_evidence import parse_day, update_staff_dates
from leerid.sp.kit.throttle import StaffLoginThrottle, purge_spent
from leerid.sp.portal import page_texts, parameters
from leerid.sp.portal.browser_session import SessionSealer
from leerid.sp.portal.templating import TEMPLATES, render
from leerid.store.outage import DatabaseOutage, OutageLog, wants_html

log = logging.getLogger("leerid.sp.portal")

REFUSAL_TEXT = {
    "no_enrolment": "Je bent op dit moment in geen enkele school ingeschreven.",
    "no_partner_school": "Je school werkt niet samen met deze toepassing.",
    "protocol_not_in_force": "Het protocol met het Departement is niet (meer) van kracht.",
}
STATIC_FILES = {"portal.css": "text/css", "copy.js": "text/javascript"}
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


async def daily_duties(provider: ServiceProvider, interval_hours: float) -> None:
    """Art. 3 and 6: the retention purge and the privacy-log pruning, once a day; and the
    staff login throttle's spent rows (issue 8 §5)."""
    while True:
        try:
            result = await asyncio.to_thread(
                retention.purge, provider.engine, provider.retention_period
            )
            cutoff = provider.privacy_log_keep.before(dt.datetime.now(dt.UTC))
            pruned = await asyncio.to_thread(
                privacy_log.prune, provider.engine, provider.secrets, cutoff
            )
            forgotten = await asyncio.to_thread(purge_spent, provider.engine)
            log.info(
                "daily duties: %d pupils purged, %d log entries pruned, %d throttle rows purged",
                result.count,
                pruned.count,
                forgotten,
            )
        except Exception:  # the job must survive a bad night (logged, retried tomorrow)
            log.exception("daily duties failed")
        await asyncio.sleep(interval_hours * 3600)


def claim_names(provider: ServiceProvider) -> dict[str, str]:
    """Claim → the attribute in plain Dutch (art. 3; the protocol's name for any other)."""
    names = {str(a.claim.value): a.name for a in provider.protocol.data.attributes}
    return {**names, **page_texts.ATTRIBUTES}


def create_portal(provider: ServiceProvider, rp: RelyingParty | None = None) -> FastAPI:
    """The portal app for ``provider``."""
    settings = provider.settings
    rp = rp or RelyingParty(settings)
    throttle = StaffLoginThrottle(
        provider.engine, settings.staff_login, provider.secrets.session_key
    )
    sealer = SessionSealer(provider.secrets.session_key, settings.secure_cookies)
    site = settings.name
    csp = (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "base-uri 'none'; "
        f"form-action 'self' {_origin(settings.issuer)}; frame-ancestors 'none'"
    )

    names = claim_names(provider)

    def readable_disclosure(item: dict[str, Any]) -> dict[str, Any]:
        try:
            at: dt.datetime | None = dt.datetime.fromisoformat(str(item.get("at")))
        except ValueError:
            at = None
        claims = [names.get(str(c), str(c)) for c in item.get("claims", [])]
        way = page_texts.DISCLOSURE_WAYS.get(str(item.get("endpoint")), "via LeerID")
        return {**item, "at": at, "claims": sorted(set(claims)), "endpoint": way}

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        task = (
            asyncio.create_task(daily_duties(provider, settings.purge_interval_hours))
            if settings.purge_interval_hours > 0
            else None
        )
        yield
        if task is not None:
            task.cancel()
        await rp.aclose()

    app = FastAPI(
        title=f"{site} portal",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
        redirect_slashes=False,  # its redirect is built from the Host header (issue 8)
    )
    app.state.provider = provider
    app.add_middleware(  # inside the headers below, so that its pages carry them too
        EdgeGuard,
        rules_for=parameters.rules_for,
        refuse=parameters.refusal(site),
        max_body=parameters.MAX_BODY,
    )

    def outage_page(request: Request, _kind: str) -> Response | None:
        """Issue 8 §13: a page, not a 500, while the database is gone (the session stays)."""
        if request.url.path == "/healthz" or not wants_html(request):
            return None
        html = render(
            "message.html",
            site=site,
            nav=[],
            csrf="",
            flash=None,
            heading="Even niet beschikbaar",
            message=f"{site} kan zijn gegevens nu niet bereiken. Wacht een minuutje en "
            "probeer dan opnieuw.",
            bad=True,
            back=request.url.path if request.method == "GET" else "/",
        )
        return HTMLResponse(html, 503)

    # inside the headers middleware below: the 503 page gets the same CSP and headers
    app.add_middleware(DatabaseOutage, render=outage_page, outages=OutageLog())

    @app.middleware("http")
    async def headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", csp)
        for key, value in PAGE_HEADERS.items():
            response.headers.setdefault(key, value)
        if settings.secure_cookies:  # RFC 6797: served over https, never fall back to http
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response

    def page(name: str, session: dict[str, Any], status: int = 200, **context: Any) -> HTMLResponse:
        nav: list[tuple[str, str]] = []
        if session.get("pupil"):
            nav = [("/mijn-gegevens", "Mijn gegevens")]
        elif session.get("staff"):
            perms = provider.permissions(session["role"])
            nav = [("/personeel", "Overzicht")]
            if perms.sees_pupil_data:
                nav.append(("/personeel/leerlingen", "Leerlingen"))
            if perms.sees_privacy_log:
                nav += [
                    ("/personeel/privacylog", "Privacylog"),
                    ("/personeel/meldingen", "Meldingen"),
                    ("/personeel/datalekken", "Gegevenslekken"),
                    ("/personeel/bewijs", "Bewijs"),
                ]
        session.setdefault("csrf", secrets.token_urlsafe(32))
        context.setdefault("flash", session.pop("flash", None))
        context.setdefault("flash_bad", session.pop("flash_bad", False))
        html = render(name, site=site, nav=nav, csrf=session["csrf"], **context)
        response = HTMLResponse(html, status)
        sealer.write(response, session)
        return response

    def message(
        session: dict[str, Any], heading: str, text: str, status: int, back: str = "/"
    ) -> HTMLResponse:
        return page(
            "message.html",
            session,
            status,
            heading=heading,
            message=text,
            bad=status >= 400,
            back=back,
        )

    async def form_with_csrf(request: Request, session: dict[str, Any]) -> dict[str, str] | None:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        expected = session.get("csrf", "")
        given = form.get("csrf", "")
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            return None
        return form

    def redirect_with(
        session: dict[str, Any], target: str, flash: str, bad: bool = False
    ) -> Response:
        """A 303 to ``target``; the notice travels in the sealed session, not the URL."""
        response = RedirectResponse(target, 303)
        sealer.write(response, {**session, "flash": flash, "flash_bad": bad})
        return response

    def breach_mail_failed(what: str) -> str:
        """Art. 9: what the DPO must do now that the e-mail did not leave."""
        if not settings.mail.other_party_dpo:
            return page_texts.BREACH_NO_DPO_ADDRESS.format(what=what)
        return page_texts.BREACH_MAIL_FAILED.format(what=what)

    def staff_of(session: dict[str, Any]) -> tuple[str, str] | None:
        if session.get("staff") and session.get("role"):
            return session["staff"], session["role"]
        return None

    # -- pupils ---------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse)
    async def home(request: Request) -> Response:
        session = sealer.read(request)
        if session.get("pupil"):
            return RedirectResponse("/mijn-gegevens", 303)
        return page("home.html", session)

    @app.get("/aanmelden")
    async def login(request: Request) -> Response:
        session = sealer.read(request)
        try:
            url, pending = await rp.begin()
        except LoginError as exc:
            log.warning("login start failed: %s", exc.code)
            return message(
                session,
                "LeerID is niet bereikbaar",
                "Aanmelden lukt nu niet. Probeer het over enkele minuten opnieuw.",
                503,
            )
        response = RedirectResponse(url, 303)
        sealer.write(response, {"pending": pending.__dict__, "exp": None})
        return response

    @app.get("/callback")
    async def callback(request: Request) -> Response:
        session = sealer.read(request)
        pending_data = session.get("pending")
        if not isinstance(pending_data, dict):
            return message(
                {},
                "Aanmelden mislukt",
                "Je aanmelding is verlopen of begon in een andere browser. Meld opnieuw aan.",
                400,
                back="/aanmelden",
            )
        try:
            result = await rp.finish(dict(request.query_params), PendingLogin(**pending_data))
            login = read_login(result.claims)
        except (LoginError, ClaimError) as exc:
            log.warning("login failed: %s", getattr(exc, "code", "claims"))
            return message(
                {},
                "Aanmelden mislukt",
                "De aanmelding via LeerID kon niet worden gecontroleerd. Meld opnieuw aan.",
                400,
                back="/aanmelden",
            )
        admission = await asyncio.to_thread(provider.admit, login)
        if not admission.decision.admitted:
            log.info("access refused: %s", admission.decision.reason)
            return page(
                "no_access.html",
                {},
                403,
                message=REFUSAL_TEXT.get(admission.decision.reason, "Geen toegang."),
            )
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
        sealer.write(response, new_session)
        return response

    @app.get("/mijn-gegevens", response_class=HTMLResponse)
    async def my_data(request: Request) -> Response:
        session = sealer.read(request)
        key = session.get("pupil")
        if not key:
            return RedirectResponse("/", 303)
        snapshot = await asyncio.to_thread(provider.snapshot, key)
        if snapshot is None:
            return message(
                {}, "Geen gegevens", "Er zijn geen gegevens (meer) over jou bewaard.", 404
            )
        disclosures: list[dict[str, Any]] | None = None
        try:
            response = await rp.get_bearer(
                await quality_reports.endpoint(rp, "disclosures") + "/mine", session["at"]
            )
            if response.status_code == 200:
                disclosures = [
                    readable_disclosure(d) for d in response.json().get("disclosures", [])
                ]
        except Exception as exc:  # the page still shows what we hold
            log.warning("disclosures could not be fetched (%s)", type(exc).__name__)
        return page(
            "pupil.html",
            session,
            snapshot=snapshot,
            pupil=snapshot,
            disclosures=disclosures,
            merged=request.query_params.get("gekoppeld") == "1",
            retention=provider.retention_period.dutch(),
        )

    @app.post("/mijn-gegevens/inzage")
    async def access_request(request: Request) -> Response:
        session = sealer.read(request)
        if not session.get("pupil") or await form_with_csrf(request, session) is None:
            return message(session, "Niet toegestaan", "Deze aanvraag is niet geldig.", 403)
        body = await asyncio.to_thread(provider.access_request, session["pupil"])
        return Response(
            body,
            media_type="application/json",
            headers={
                "Content-Disposition": 'attachment; filename="mijn-gegevens.json"',
                **PAGE_HEADERS,
            },
        )

    @app.post("/afmelden")
    async def logout(request: Request) -> Response:
        session = sealer.read(request)
        if await form_with_csrf(request, session) is None:
            return message(session, "Niet toegestaan", "Deze aanvraag is niet geldig.", 403)
        target = "/"
        with contextlib.suppress(LoginError):
            target = await rp.logout_url(session.get("idt")) or "/"
        response = RedirectResponse(target, 303)
        sealer.write(response, {"flash": page_texts.LOGGED_OUT})  # no identity is kept
        return response

    # -- staff ----------------------------------------------------------------------------

    @app.get("/personeel/aanmelden", response_class=HTMLResponse)
    async def staff_login_form(request: Request) -> Response:
        session = sealer.read(request)
        return page(
            "staff_login.html", {"csrf": session.get("csrf")} if session.get("csrf") else {}
        )

    @app.post("/personeel/aanmelden")
    async def staff_login(request: Request) -> Response:
        session = sealer.read(request)
        form = await form_with_csrf(request, session)
        if form is None:
            return page(
                "staff_login.html", {}, 400, error="Het formulier was verlopen. Probeer opnieuw."
            )
        name = form.get("gebruikersnaam", "")[:80]
        address = request.client.host if request.client else "-"
        wait = await asyncio.to_thread(throttle.admit, name, address)  # issue 8 §5: reserved
        if wait:
            return page(
                "staff_login.html",
                session,
                429,
                error=f"Te veel mislukte pogingen. Probeer opnieuw over {-(-wait // 60)} minuten.",
                username=name,
            )
        account = await asyncio.to_thread(
            authenticate,
            provider.engine,
            form.get("gebruikersnaam", ""),
            form.get("wachtwoord", ""),
        )
        if account is None:  # the same answer for unknown names and wrong passwords
            await asyncio.to_thread(throttle.failed, name, address)
            return page(
                "staff_login.html",
                session,
                401,
                error="Gebruikersnaam of wachtwoord klopt niet.",
                username=form.get("gebruikersnaam", "")[:80],
            )
        await asyncio.to_thread(throttle.succeeded, name)
        response = RedirectResponse("/personeel", 303)
        sealer.write(response, {"staff": account.username, "role": account.role, "exp": None})
        return response

    @app.post("/personeel/afmelden")
    async def staff_logout(request: Request) -> Response:
        session = sealer.read(request)
        if await form_with_csrf(request, session) is None:
            return message(session, "Niet toegestaan", "Deze aanvraag is niet geldig.", 403)
        response = RedirectResponse("/", 303)
        sealer.write(response, {"flash": page_texts.STAFF_LOGGED_OUT})  # no identity is kept
        return response

    def require_staff(
        session: dict[str, Any], *, pupil_data: bool = False, log_access: bool = False
    ) -> tuple[str, str] | Response:
        who = staff_of(session)
        # Art. 4: a disabled account or a changed role counts at once, not when the sealed
        # session cookie expires; the role is read from the database on every request.
        account = get_staff(provider.engine, who[0]) if who is not None else None
        if account is None:
            response = RedirectResponse("/personeel/aanmelden", 303)
            if who is not None:
                sealer.clear(response)
            return response
        who = (account.username, account.role)
        perms = provider.permissions(who[1])
        if (pupil_data and not perms.sees_pupil_data) or (
            log_access and not perms.sees_privacy_log
        ):
            return message(
                session,
                "Geen toegang",
                "Je rol geeft geen toegang tot deze pagina (protocol art. 4).",
                403,
                back="/personeel",
            )
        return who

    async def staff_form(
        request: Request, *, pupil_data: bool = False, log_access: bool = False
    ) -> tuple[dict[str, Any], tuple[str, str], dict[str, str]] | Response:
        """A staff member's form post: role checked (art. 4), CSRF token checked."""
        session = sealer.read(request)
        who = require_staff(session, pupil_data=pupil_data, log_access=log_access)
        if isinstance(who, Response):
            return who
        form = await form_with_csrf(request, session)
        if form is None:
            return message(session, "Niet toegestaan", "Het formulier was verlopen.", 403)
        return session, who, form

    @app.get("/personeel", response_class=HTMLResponse)
    async def staff_home(request: Request) -> Response:
        session = sealer.read(request)
        who = require_staff(session)
        if isinstance(who, Response):
            return who
        counts = await asyncio.to_thread(provider.counts)
        return page(
            "staff_home.html",
            session,
            staff=who[0],
            perms=provider.permissions(who[1]),
            counts=counts,
        )

    @app.get("/personeel/leerlingen", response_class=HTMLResponse)
    async def staff_pupils(request: Request) -> Response:
        session = sealer.read(request)
        who = require_staff(session, pupil_data=True)
        if isinstance(who, Response):
            return who
        rows = await asyncio.to_thread(
            provider.list_pupils, who[0], who[1], "art. 4: overzicht voor de toegangscontrole"
        )
        return page("staff_pupils.html", session, rows=rows, current="/personeel/leerlingen")

    def attribute_choices() -> list[tuple[str, str]]:
        return [
            (str(a.claim.value), names[str(a.claim.value)])
            for a in provider.protocol.data.attributes
        ]

    @app.post("/personeel/leerlingen/open", response_class=HTMLResponse)
    async def staff_pupil(request: Request) -> Response:
        posted = await staff_form(request, pupil_data=True)
        if isinstance(posted, Response):
            return posted
        session, who, form = posted
        purpose = form.get("doel", "").strip()
        if not purpose:
            return message(
                session,
                "Doel ontbreekt",
                "Geef het doel van de inzage op (het komt in het privacylog).",
                400,
                back="/personeel/leerlingen",
            )
        try:
            snapshot = await asyncio.to_thread(
                provider.view_pupil, who[0], who[1], form.get("sleutel", ""), purpose
            )
        except NotFoundError:
            return message(
                session,
                "Niet gevonden",
                "Geen leerling met deze sleutel.",
                404,
                back="/personeel/leerlingen",
            )
        except LeeridError as exc:
            return message(
                session, "Niet toegestaan", dutch_message(exc), 400, back="/personeel/leerlingen"
            )
        return page(
            "staff_pupil.html",
            session,
            pupil=snapshot,
            purpose=purpose,
            names=names,
            statuses=page_texts.REPORT_STATUS,
            attributes=attribute_choices(),
            problems=quality_reports.PROBLEMS,
        )

    @app.post("/personeel/leerlingen/dossier")
    async def staff_dossier(request: Request) -> Response:
        session = sealer.read(request)
        who = require_staff(session, pupil_data=True)
        if isinstance(who, Response):
            return who
        form = await form_with_csrf(request, session)
        if form is None or not form.get("tekst", "").strip():
            return message(
                session,
                "Niet toegestaan",
                "Het formulier was leeg of verlopen.",
                400,
                back="/personeel/leerlingen",
            )
        try:
            await asyncio.to_thread(
                provider.add_dossier_entry,
                who[0],
                who[1],
                form.get("sleutel", ""),
                form["tekst"].strip()[:2000],
            )
        except NotFoundError:
            return message(
                session,
                "Niet gevonden",
                "Geen leerling met deze sleutel.",
                404,
                back="/personeel/leerlingen",
            )
        except LeeridError as exc:
            return message(
                session,
                "Niet bewaard",
                dutch_message(exc),
                400,
                back="/personeel/leerlingen",
            )
        return redirect_with(session, "/personeel/leerlingen", "Activiteit geregistreerd.")

    @app.post("/personeel/leerlingen/melding", response_class=HTMLResponse)
    async def staff_report(request: Request) -> Response:
        posted = await staff_form(request, pupil_data=True)
        if isinstance(posted, Response):
            return posted
        session, who, form = posted
        try:
            code = await quality_reports.report_wrong_data(
                provider,
                rp,
                actor=who[0],
                role=who[1],
                pupil_key=form.get("sleutel", ""),
                attribute=form.get("attribuut", ""),
                problem=form.get("probleem", ""),
                comment=form.get("toelichting", ""),
            )
        except quality_reports.ReportRefusedError as exc:  # bad input: say what to correct
            return message(
                session,
                "Melding niet verzonden",
                exc.message,
                exc.status,
                back="/personeel/leerlingen",
            )
        except InszInFreeTextError as exc:
            return message(
                session, "Melding niet verzonden", exc.dutch, 400, back="/personeel/leerlingen"
            )
        except LeeridError as exc:
            log.warning("report not sent: %s", exc.message)
            return message(
                session,
                "Melding niet verzonden",
                page_texts.REPORT_NOT_SENT,
                502,
                back="/personeel/leerlingen",
            )
        return message(
            session,
            "Melding verzonden",
            f"Melding {code} is verzonden naar het Departement (art. 7).",
            200,
            back="/personeel/leerlingen",
        )

    @app.get("/personeel/privacylog", response_class=HTMLResponse)
    async def staff_log(request: Request) -> Response:
        session = sealer.read(request)
        who = require_staff(session, log_access=True)
        if isinstance(who, Response):
            return who
        check = await asyncio.to_thread(privacy_log.verify, provider.engine, provider.secrets)
        entries = await asyncio.to_thread(privacy_log.recent, provider.engine)
        return page(
            "staff_log.html",
            session,
            check=check,
            entries=entries,
            actions=page_texts.ACTIONS,
            current="/personeel/privacylog",
        )

    @app.get("/personeel/meldingen", response_class=HTMLResponse)
    async def staff_reports(request: Request) -> Response:
        session = sealer.read(request)
        who = require_staff(session, log_access=True)
        if isinstance(who, Response):
            return who
        reports = await asyncio.to_thread(quality_reports.list_reports, provider)
        return page(
            "staff_reports.html",
            session,
            reports=reports,
            names=names,
            statuses=page_texts.REPORT_STATUS,
            current="/personeel/meldingen",
        )

    @app.post("/personeel/meldingen/vernieuwen")
    async def staff_reports_refresh(request: Request) -> Response:
        session = sealer.read(request)
        who = require_staff(session, log_access=True)
        if isinstance(who, Response):
            return who
        if await form_with_csrf(request, session) is None:
            return message(session, "Niet toegestaan", "Het formulier was verlopen.", 403)
        try:
            changed = await quality_reports.refresh_statuses(provider, rp)
        except (httpx.HTTPError, ValueError, KeyError) as exc:  # our database errors go on
            log.warning("report statuses could not be read back (%s)", type(exc).__name__)
            text = "Het Departement was niet bereikbaar. Probeer het over enkele minuten opnieuw."
            return redirect_with(session, "/personeel/meldingen", text, bad=True)
        return redirect_with(session, "/personeel/meldingen", f"{changed} melding(en) gewijzigd")

    @app.get("/personeel/datalekken", response_class=HTMLResponse)
    async def staff_breaches(request: Request) -> Response:
        session = sealer.read(request)
        who = require_staff(session, log_access=True)
        if isinstance(who, Response):
            return who
        views = await asyncio.to_thread(breaches.list_breaches, provider.engine)
        return page(
            "staff_breaches.html",
            session,
            breaches=views,
            statuses=breaches.STATUSES,
            current="/personeel/datalekken",
        )

    @app.post("/personeel/datalekken")
    async def staff_breach_add(request: Request) -> Response:
        posted = await staff_form(request, log_access=True)
        if isinstance(posted, Response):
            return posted
        session, who, form = posted
        try:
            discovered = dt.datetime.fromisoformat(form.get("vastgesteld", "")).replace(
                tzinfo=BRUSSELS  # the form asks for Belgian time
            )
            count = int(form.get("aantal", ""))
        except ValueError:
            return message(
                session,
                "Onvolledig",
                "Vul het tijdstip en het aantal correct in.",
                400,
                back="/personeel/datalekken",
            )
        try:
            number = await asyncio.to_thread(
                lambda: breaches.add_breach(
                    provider.engine,
                    settings.mail,
                    actor=who[0],
                    discovered_at=discovered,
                    description=form.get("wat", ""),
                    categories=form.get("categorieen", ""),
                    pupils_affected=count,
                    measures=form.get("maatregelen", ""),
                )
            )
            text = f"Lek {number} geregistreerd en gemeld aan de andere DPO."
        except breaches.MailError:
            text = breach_mail_failed("Het lek is geregistreerd")
            return redirect_with(session, "/personeel/datalekken", text, bad=True)
        except LeeridError as exc:
            return message(
                session, "Niet geregistreerd", dutch_message(exc), 400, back="/personeel/datalekken"
            )
        return redirect_with(session, "/personeel/datalekken", text)

    @app.post("/personeel/datalekken/{number}")
    async def staff_breach_update(request: Request, number: str) -> Response:
        posted = await staff_form(request, log_access=True)
        if isinstance(posted, Response):
            return posted
        session, who, form = posted
        if not (number.isdigit() and len(number) <= 9):  # read here: a page, not JSON 422
            return message(session, "Niet gevonden", "Geen gegevenslek met dit nummer.", 404)
        breach_id = int(number)
        try:
            await asyncio.to_thread(
                lambda: breaches.update_breach(
                    provider.engine,
                    settings.mail,
                    breach_id,
                    actor=who[0],
                    text=form.get("tekst") or None,
                    status=form.get("status") or None,
                    notify=True,
                )
            )
            text = f"Lek {breach_id} bijgewerkt en gemeld aan de andere DPO."
        except breaches.MailError:
            text = breach_mail_failed(f"Lek {breach_id} is bijgewerkt")
            return redirect_with(session, "/personeel/datalekken", text, bad=True)
        except LeeridError as exc:
            return redirect_with(session, "/personeel/datalekken", dutch_message(exc), bad=True)
        return redirect_with(session, "/personeel/datalekken", text)

    @app.get("/personeel/bewijs", response_class=HTMLResponse)
    async def staff_evidence(request: Request) -> Response:
        session = sealer.read(request)
        who = require_staff(session, log_access=True)
        if isinstance(who, Response):
            return who
        data = await asyncio.to_thread(collect, provider)
        return page("evidence.html", session, current="/personeel/bewijs", **data)

    @app.get("/personeel/opleiding", response_class=HTMLResponse)
    async def staff_training(request: Request) -> Response:
        session = sealer.read(request)
        who = require_staff(session, log_access=True)
        if isinstance(who, Response):
            return who
        return page(
            "staff_training.html",
            session,
            staff=await asyncio.to_thread(list_staff, provider.engine),
            labels={r.id: r.label for r in provider.protocol.roles},
            today=dt.date.today().isoformat(),
            current="/personeel/bewijs",
        )

    @app.post("/personeel/opleiding")
    async def staff_training_update(request: Request) -> Response:
        posted = await staff_form(request, log_access=True)  # art. 4 and 6: the DPO
        if isinstance(posted, Response):
            return posted
        session, who, form = posted
        name = form.get("gebruiker", "")
        try:
            await asyncio.to_thread(
                lambda: update_staff_dates(
                    provider.engine,
                    name,
                    actor=who[0],
                    confidentiality_signed_on=parse_day(form.get("vertrouwelijkheid", ""), "-"),
                    awareness_trained_on=parse_day(form.get("sensibilisering", ""), "-"),
                )
            )
        except NotFoundError:
            return redirect_with(session, "/personeel/opleiding", "Onbekend personeelslid.", True)
        except LeeridError:
            text = "Niet bewaard: vul minstens één datum in, niet in de toekomst."
            return redirect_with(session, "/personeel/opleiding", text, bad=True)
        return redirect_with(session, "/personeel/opleiding", f"Datums van {name} bewaard.")

    def static_file(name: str) -> Response:
        return Response(
            (TEMPLATES / name).read_text(encoding="utf-8"),
            media_type=STATIC_FILES[name],
            headers={"Cache-Control": "public, max-age=3600"},
        )

    @app.get("/static/portal.css")
    async def stylesheet() -> Response:
        return static_file("portal.css")

    @app.get("/static/copy.js")
    async def copy_script() -> Response:  # the "Kopieer" buttons (progressive enhancement)
        return static_file("copy.js")

    @app.get("/healthz")
    async def healthz() -> Response:
        """Alive and the database answers (503 with the reason when it does not)."""
        await asyncio.to_thread(provider.ping)
        return Response("ok", media_type="text/plain", headers={"Cache-Control": "no-store"})

    return app
