"""The DPO's pages: data-quality reports, breaches, evidence, the risk assessment (art. 6-9);
the privacy log (on pseudonyms, art. 4) and the access-request lookup are in
``dpo_log_pages``, the training and confidentiality dates on the staff management page
(``staff_admin_pages``).

Every page here needs a role that sees the privacy log (in the LARS protocol: the DPO).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

import httpx
from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from leerid.errors import LeeridError
from leerid.protocol.lifecycle import BRUSSELS
from leerid.sp.kit import breaches, log_alerts, privacy_log, quality_reports
from leerid.sp.kit.evidence import collect
from leerid.sp.kit.free_text import dutch_message
from leerid.sp.kit.risk import add_risk, assessed_on, list_risks
from leerid.sp.portal import page_texts
from leerid.sp.portal.guard import DpoStaff, DpoStaffPost, PortalDep

log = logging.getLogger("leerid.sp.portal")

router = APIRouter()

RISKS = "/personeel/bewijs/risico"
REPORTS = "/personeel/meldingen"
BREACHES = "/personeel/datalekken"
REPORTS_SHOWN = 200
ALERTS_SHOWN = 50


@router.get(RISKS, response_class=HTMLResponse)
async def staff_risks(portal: PortalDep, who: DpoStaff) -> Response:
    """Art. 6: the risk assessment, each risk with its measure."""
    risks = await asyncio.to_thread(list_risks, portal.provider.engine)
    today = dt.date.today().isoformat()
    return portal.page(
        "staff_risks.html", who.session, risks=risks, today=today, current="/personeel/bewijs"
    )


@router.post(RISKS)
async def staff_risk_add(portal: PortalDep, posted: DpoStaffPost) -> Response:
    """Art. 6: the DPO records a risk with its measure (refused without one); logged."""
    form = posted.form
    try:
        number = await asyncio.to_thread(
            lambda: add_risk(
                portal.provider.engine,
                risk=form.get("risico", ""),
                measures=form.get("maatregelen", ""),
                day=assessed_on(form.get("datum", "")),
                owner=form.get("eigenaar", ""),
                actor=posted.username,
            )
        )
    except LeeridError as exc:
        text = getattr(exc, "dutch", None) or dutch_message(exc)
        return portal.redirect_with(posted.session, RISKS, f"Niet bewaard: {text}", bad=True)
    return portal.redirect_with(posted.session, RISKS, f"Risico {number} bewaard.")


@router.get(REPORTS, response_class=HTMLResponse)
async def staff_reports(request: Request, portal: PortalDep, who: DpoStaff) -> Response:
    """Art. 7: the reports LARS sent, newest first, filtered on their status."""
    status = request.query_params.get("status", "")
    if status and status not in page_texts.REPORT_STATUS:
        text = "Status: kies een status uit de lijst (of alle statussen)."
        return portal.message(who.session, "Filter niet in orde", text, 400, back=REPORTS)
    every = await asyncio.to_thread(quality_reports.list_reports, portal.provider)
    matching = [r for r in every if not status or r.status == status]
    reports = matching[:REPORTS_SHOWN]
    secrets = portal.provider.secrets
    return portal.page(
        "staff_reports.html",
        who.session,
        reports=reports,
        matching=len(matching),
        chosen=status,
        # art. 4: the DPO sees a pupil as a pseudonym; none once art. 3 detached the report
        pupils={r.id: r.pupil_key and privacy_log.pseudonym(secrets, r.pupil_key) for r in reports},
        names=portal.names,
        statuses=page_texts.REPORT_STATUS,
        current=REPORTS,
    )


@router.post("/personeel/meldingen/vernieuwen")
async def staff_reports_refresh(portal: PortalDep, posted: DpoStaffPost) -> Response:
    """Art. 7: the reports' statuses read back from the Department."""
    try:
        changed = await quality_reports.refresh_statuses(portal.provider, portal.rp)
    except (httpx.HTTPError, ValueError, KeyError) as exc:  # our database errors go on
        log.warning("report statuses could not be read back (%s)", type(exc).__name__)
        text = "Het Departement was niet bereikbaar. Probeer het over enkele minuten opnieuw."
        return portal.redirect_with(posted.session, REPORTS, text, bad=True)
    return portal.redirect_with(posted.session, REPORTS, f"{changed} melding(en) gewijzigd")


@router.get(BREACHES, response_class=HTMLResponse)
async def staff_breaches(portal: PortalDep, who: DpoStaff) -> Response:
    views = await asyncio.to_thread(breaches.list_breaches, portal.provider.engine)
    return portal.page(
        "staff_breaches.html",
        who.session,
        breaches=views,
        statuses=breaches.STATUSES,
        current=BREACHES,
    )


@router.post(BREACHES)
async def staff_breach_add(portal: PortalDep, posted: DpoStaffPost) -> Response:
    """Art. 9 / GDPR art. 33: a breach registered and mailed to the other party's DPO."""
    session, form = posted.session, posted.form
    try:
        discovered = dt.datetime.fromisoformat(form.get("vastgesteld", "")).replace(
            tzinfo=BRUSSELS  # the form asks for Belgian time
        )
        count = int(form.get("aantal", ""))
    except ValueError:
        text = "Vul het tijdstip en het aantal correct in."
        return portal.message(session, "Onvolledig", text, 400, back=BREACHES)
    try:
        number = await asyncio.to_thread(
            lambda: breaches.add_breach(
                portal.provider.engine,
                portal.provider.settings.mail,
                actor=posted.username,
                discovered_at=discovered,
                description=form.get("wat", ""),
                categories=form.get("categorieen", ""),
                pupils_affected=count,
                measures=form.get("maatregelen", ""),
            )
        )
        text = f"Lek {number} geregistreerd en gemeld aan de andere DPO."
    except breaches.MailError:
        text = portal.breach_mail_failed("Het lek is geregistreerd")
        return portal.redirect_with(session, BREACHES, text, bad=True)
    except LeeridError as exc:
        return portal.message(session, "Niet geregistreerd", dutch_message(exc), 400, back=BREACHES)
    return portal.redirect_with(session, BREACHES, text)


@router.post("/personeel/datalekken/{number}")
async def staff_breach_update(portal: PortalDep, posted: DpoStaffPost, number: str) -> Response:
    """Art. 9: a breach's follow-up or status, mailed to the other party's DPO."""
    session, form = posted.session, posted.form
    if not (number.isdigit() and len(number) <= 9):  # read here: a page, not JSON 422
        return portal.message(session, "Niet gevonden", "Geen gegevenslek met dit nummer.", 404)
    breach_id = int(number)
    try:
        await asyncio.to_thread(
            lambda: breaches.update_breach(
                portal.provider.engine,
                portal.provider.settings.mail,
                breach_id,
                actor=posted.username,
                text=form.get("tekst") or None,
                status=form.get("status") or None,
                notify=True,
            )
        )
        text = f"Lek {breach_id} bijgewerkt en gemeld aan de andere DPO."
    except breaches.MailError:
        text = portal.breach_mail_failed(f"Lek {breach_id} is bijgewerkt")
        return portal.redirect_with(session, BREACHES, text, bad=True)
    except LeeridError as exc:
        return portal.redirect_with(session, BREACHES, dutch_message(exc), bad=True)
    return portal.redirect_with(session, BREACHES, text)


@router.get("/personeel/bewijs", response_class=HTMLResponse)
async def staff_evidence(portal: PortalDep, who: DpoStaff) -> Response:
    """Art. 6: the live evidence per security measure, and the transparency log's alerts."""
    data = await asyncio.to_thread(collect, portal.provider)
    alerts = await asyncio.to_thread(log_alerts.list_alerts, portal.provider.engine)
    return portal.page(
        "evidence.html",
        who.session,
        current="/personeel/bewijs",
        alerts=alerts[:ALERTS_SHOWN],
        alert_count=len(alerts),
        alert_kinds=log_alerts.KINDS,
        **data,
    )
