"""The console's pages for DOV's duties towards recipients: data-quality reports both ways
(``/beheer/meldingen``, art. 7) and notices and processor lists (``/beheer/kennisgevingen``,
art. 6 and 9).

Reports name pupils by key and may hold a pupil's own words: the operator handles them
(closes, sends); the DPO reads them with pseudonyms; both only with both art. 6 dates
recorded (the guard). Every list is a read written in the staff privacy log. Notices carry
no pupil data: both roles read them, the DPO acknowledges them and asks a recipient for its
processor list (art. 9: through the DPOs).
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from starlette.responses import Response

from leerid.errors import LeeridError, NotFoundError
from leerid.idp.console.guard import (
    AnyStaff,
    ConsoleDep,
    DpoPost,
    OperatorPupilDataPost,
    PupilDataStaff,
)
from leerid.idp.console.nav import OPERATOR
from leerid.idp.store.clients import list_clients
from leerid.idp.store.console import duty_reports
from leerid.idp.store.console.pseudonyms import dpo_pseudonyms
from leerid.idp.store.quality_reports import ATTRIBUTES, PROBLEMS, SOURCES, STATUSES
from leerid.insz_text import looks_like_insz

__all__ = ["router"]

router = APIRouter()
REPORTS = "/beheer/meldingen"
NOTICES = "/beheer/kennisgevingen"
SOURCE_LABELS = {"client": "van een ontvanger", "dov": "van DOV", "pupil": "van een leerling"}
ATTRIBUTE_LABELS = {  # art. 3: the attributes in the words DOV's staff use (no code names)
    "given_name": "Voornaam",
    "family_name": "Achternaam",
    "ov_leerid_uuid": "Leerlingensleutel",
    "ov_account_uuid": "Accountnummer",
    "ov_historiek_account_uuid": "Vorige accountnummers",
    "ov_orgcode": "School (instellingsnummer)",
    "rrn": "Rijksregisternummer",
}


@router.get(REPORTS)
async def report_list(request: Request, who: PupilDataStaff, console: ConsoleDep) -> Response:
    """Art. 7: the reports, filtered by status and source; the read is logged (art. 6); both
    roles only with both art. 6 dates recorded (the guard)."""
    status = request.query_params.get("status", "") or None
    source = request.query_params.get("bron", "") or None
    if status not in (None, *STATUSES) or source not in (None, *SOURCES):
        text = "Kies een status (open, gesloten) en een bron (client, dov, pupil) uit de lijst."
        return console.message(who, "Ongeldige filter", text, 400)
    ctx = console.ctx
    found = await ctx.run(duty_reports.reports, ctx.engine, who.username, status, source)
    known = await ctx.run(duty_reports.notices, ctx.engine)
    # art. 4: the DPO supervises and sees each pupil as a pseudonym; the operator handles
    hidden = (
        await ctx.run(dpo_pseudonyms, ctx.engine, [r.pupil_key for r in found])
        if who.role != OPERATOR
        else None
    )
    names = {c.client_id: c.name for c in await ctx.run(list_clients, ctx.engine)}
    return console.page(
        request,
        "console_reports.html",
        who,
        reports=found,
        pseudonyms=hidden,
        client_names=names,
        chosen_status=status or "",
        chosen_source=source or "",
        statuses=STATUSES,
        sources=SOURCE_LABELS,
        attributes={a: ATTRIBUTE_LABELS.get(a, a) for a in ATTRIBUTES},
        problems=PROBLEMS,
        clients=known.clients,
    )


@router.post(REPORTS + "/sluiten")
async def report_close(posted: OperatorPupilDataPost, console: ConsoleDep) -> Response:
    """Art. 7: a received report closed, saying what was corrected or why not."""
    code, resolution = posted.form.get("melding", ""), posted.form.get("oplossing", "").strip()
    if not resolution or looks_like_insz(resolution):
        text = "Vul in wat er verbeterd werd of waarom niet, zonder rijksregisternummer."
        return console.message(posted, "Onvolledig", text, 400)
    ctx = console.ctx
    try:
        view = await ctx.run(duty_reports.close, ctx.engine, posted.username, code, resolution)
    except NotFoundError:
        return console.message(posted, "Niet gevonden", "Geen melding met deze code.", 404)
    except LeeridError:
        return console.message(posted, "Niet gesloten", "Deze melding is al gesloten.", 400)
    return console.redirect_with(posted, REPORTS, f"Melding {view.code} is gesloten.")


def _report_problem(form: dict[str, str], clients: list[str]) -> str | None:
    """What is wrong with a report DOV sends (in Dutch, naming the field), or None."""
    try:
        uuid.UUID(form.get("sleutel", "").strip())
    except ValueError:
        return "De leerling: geef de leerlingensleutel of het accountnummer (een UUID)."
    if form.get("ontvanger") not in clients:
        return "Kies de ontvanger uit de lijst."
    if form.get("gegeven") not in ATTRIBUTES or form.get("probleem") not in PROBLEMS:
        return "Kies het gegeven en het probleem uit de lijst."
    comment = form.get("toelichting", "")
    if not comment.strip() or len(comment) > 2000:
        return "Vul de toelichting in (hoogstens 2000 tekens)."
    if looks_like_insz(comment):  # art. 3
        return "In de toelichting staat iets dat op een rijksregisternummer lijkt: laat het weg."
    return None


@router.post(REPORTS + "/nieuw")
async def report_send(posted: OperatorPupilDataPost, console: ConsoleDep) -> Response:
    """Art. 7: DOV tells a recipient that got the data (art. 4) that it is wrong."""
    form, ctx = posted.form, console.ctx
    known = await ctx.run(duty_reports.notices, ctx.engine)
    problem = _report_problem(form, [c for c, _ in known.clients])
    if problem is not None:
        return console.message(posted, "Niet verstuurd", problem, 400)
    try:
        view = await ctx.run(
            lambda: duty_reports.send_report(
                ctx.engine,
                posted.username,
                client_id=form["ontvanger"],
                pupil_key=form["sleutel"].strip(),
                attribute=form["gegeven"],
                problem=form["probleem"],
                comment=form["toelichting"].strip(),
            )
        )
    except LeeridError:  # art. 4: only to a recipient that received that data
        text = (
            "Deze ontvanger kreeg dat gegeven van deze leerling nooit (art. 4): meld het "
            "alleen aan een ontvanger die het kreeg."
        )
        return console.message(posted, "Niet verstuurd", text, 400)
    return console.redirect_with(posted, REPORTS, f"Melding {view.code} is verstuurd.")


@router.get(NOTICES)
async def notice_list(request: Request, who: AnyStaff, console: ConsoleDep) -> Response:
    """Art. 9 notices (legislation, processors, onward disclosure) and art. 6 requests."""
    found = await console.ctx.run(duty_reports.notices, console.ctx.engine)
    return console.page(request, "console_notices.html", who, found=found)


@router.post(NOTICES + "/bevestigen")
async def notice_acknowledge(posted: DpoPost, console: ConsoleDep) -> Response:
    """Art. 9: DOV's DPO acknowledges a notice; the recipient hears of it."""
    number, ctx = posted.form.get("kennisgeving", ""), console.ctx
    try:
        await ctx.run(duty_reports.acknowledge, ctx.engine, posted.username, number)
    except NotFoundError:
        return console.message(posted, "Niet gevonden", "Geen kennisgeving met dit nummer.", 404)
    except LeeridError:
        return console.message(posted, "Niet bevestigd", "Deze is al bevestigd.", 400)
    return console.redirect_with(posted, NOTICES, f"Kennisgeving {number} is bevestigd.")


@router.post(NOTICES + "/verwerkers")
async def processors_request(posted: DpoPost, console: ConsoleDep) -> Response:
    """Art. 6: DOV asks a recipient for its current list of processors."""
    client, ctx = posted.form.get("ontvanger", ""), console.ctx
    try:
        await ctx.run(duty_reports.ask_processors, ctx.engine, posted.username, client)
    except NotFoundError:
        return console.message(posted, "Onbekend", "Kies de ontvanger uit de lijst.", 400)
    return console.redirect_with(
        posted, NOTICES, f"De lijst van verwerkers is gevraagd aan {client}."
    )
