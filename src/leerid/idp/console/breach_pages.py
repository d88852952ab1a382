"""DOV's breach register in the console (``/beheer/datalekken``; art. 9, GDPR art. 33).

Art. 9 has the DPOs inform each other, so the register is the DPO's: only the DPO reads and
writes it (an operator gets 403 and tells the DPO), and only with both art. 6 dates recorded
(a breach's contents may describe pupils). Every change is e-mailed to the DPO of
each recipient the breach concerns; a failed e-mail keeps the breach and says what to do.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

from fastapi import APIRouter, Request
from starlette.responses import Response

from leerid.duties.breach_clock import STATUSES, belgian
from leerid.duties.breach_register import (
    MAX_PUPILS,
    Authority,
    BreachInputError,
    authority_from_form,
    dutch,
)
from leerid.duties.mail import MailError
from leerid.errors import LeeridError, NotFoundError
from leerid.idp.console.guard import ConsoleDep, PupilDataDpo, PupilDataDpoPost, StaffPost
from leerid.idp.store.clients import list_clients
from leerid.idp.store.console import breaches
from leerid.idp.store.console.duty_reports import notices as clients_and_notices

__all__ = ["router"]

router = APIRouter()
PAGE = "/beheer/datalekken"
CLIENT = "ontvanger-"  # one checkbox per recipient concerned (none: all)
MAIL_FAILED = (
    "{what}, maar de e-mail aan de DPO van de ontvanger(s) is niet vertrokken. Verwittig die "
    "DPO zelf binnen de 72 uur en laat de mailinstellingen (LEERID_MAIL_*) of het DPO-adres "
    "in het protocol nakijken; een volgende update verstuurt het lek opnieuw."
)


def _moment(text: str, label: str) -> dt.datetime:
    """A ``datetime-local`` value in Belgian time (2000-2999), or a Dutch error naming it."""
    try:
        return belgian(dt.datetime.fromisoformat(text.strip()).replace(tzinfo=None))
    except ValueError:
        raise BreachInputError("bad time", f"Vul {label} in als datum en uur.") from None


def _count(text: str) -> int:
    """The number of pupils concerned: 0 to MAX_PUPILS, or a Dutch error naming the field."""
    text = text.strip()
    if not (text.isascii() and text.isdigit() and int(text) <= MAX_PUPILS):
        raise BreachInputError(
            "bad count",
            f"Vul het aantal leerlingen in als een getal van 0 tot {MAX_PUPILS:_}.".replace(
                "_", "."
            ),
        )
    return int(text)


@router.get(PAGE)
async def breach_list(request: Request, who: PupilDataDpo, console: ConsoleDep) -> Response:
    """Art. 9: every breach with both clocks, the updates and the forms."""
    ctx = console.ctx
    views = await ctx.run(breaches.list_breaches, ctx.engine)
    known = await ctx.run(clients_and_notices, ctx.engine)
    names = {c.client_id: c.name for c in await ctx.run(list_clients, ctx.engine)}
    return console.page(
        request,
        "console_breaches.html",
        who,
        breaches=views,
        statuses=STATUSES,
        clients=known.clients,
        client_names=names,
    )


async def _act(
    console: ConsoleDep, posted: StaffPost, act: Callable[[], object], done: str, what: str
) -> Response:
    """Run ``act`` in a thread (it may wait for the SMTP server); bad input → 400 page,
    unknown breach → 404, a failed e-mail → a warning on the register."""
    try:
        await asyncio.to_thread(act)
    except MailError:
        return console.redirect_with(posted, PAGE, MAIL_FAILED.format(what=what), bad=True)
    except NotFoundError:
        return console.message(posted, "Niet gevonden", "Geen gegevenslek met dit nummer.", 404)
    except LeeridError as exc:
        return console.message(posted, "Niet bewaard", dutch(exc), 400)
    return console.redirect_with(posted, PAGE, done)


@router.post(PAGE)
async def breach_add(posted: PupilDataDpoPost, console: ConsoleDep) -> Response:
    """Art. 9, GDPR art. 33: a breach recorded and mailed to the recipients' DPOs at once."""
    form = posted.form
    try:
        found = _moment(form.get("vastgesteld", ""), "het tijdstip van vaststelling")
        count = _count(form.get("aantal", ""))
    except BreachInputError as exc:
        return console.message(posted, "Onvolledig", exc.dutch, 400)
    for field, label in (("wat", "wat er gebeurde"), ("categorieen", "de categorieën")):
        if not form.get(field, "").strip():
            return console.message(posted, "Onvolledig", f"Vul {label} in.", 400)
    clients = [k.removeprefix(CLIENT) for k in form if k.startswith(CLIENT)]
    ctx = console.ctx

    def act() -> object:
        return breaches.add_breach(
            ctx.engine,
            ctx.settings.mail,
            actor=posted.username,
            discovered_at=found,
            description=form["wat"].strip(),
            categories=form["categorieen"].strip(),
            pupils_affected=count,
            measures=form.get("maatregelen", "").strip(),
            clients=clients,
        )

    done = "Het lek is geregistreerd en gemeld aan de DPO van de ontvanger(s)."
    return await _act(console, posted, act, done, "Het lek is geregistreerd")


def _authority(form: dict[str, str]) -> Authority:
    """GDPR art. 33.1, 33.5: the authority told (reference, when), or why not; or unchanged."""
    return authority_from_form(
        form.get("referentie", ""), form.get("reden", ""), form.get("gemeld_op", "")
    )


@router.post(PAGE + "/{number}")
async def breach_update(number: str, posted: PupilDataDpoPost, console: ConsoleDep) -> Response:
    """GDPR art. 33.4: information in phases, the authority's reference or why not; mailed."""
    # read here, not as a typed parameter: a page, not JSON 422; ≤ 9 digits (an integer column)
    if not (number.isascii() and number.isdigit() and len(number) <= 9):
        return console.message(posted, "Niet gevonden", "Geen gegevenslek met dit nummer.", 404)
    form, ctx = posted.form, console.ctx
    try:
        authority = _authority(form)
    except BreachInputError as exc:
        return console.message(posted, "Niet bewaard", exc.dutch, 400)

    def act() -> object:
        breaches.update_breach(
            ctx.engine,
            ctx.settings.mail,
            int(number),
            actor=posted.username,
            text=form.get("tekst", "").strip() or None,
            status=form.get("status") or None,
            authority=authority,
            notify=True,
        )
        return None

    done = f"Lek {number} is bijgewerkt en gemeld aan de DPO van de ontvanger(s)."
    return await _act(console, posted, act, done, f"Lek {number} is bijgewerkt")
