"""DOV's staff privacy log for DOV's DPO (``/beheer/privacylog``, art. 4, 6): the same rules
as the recipient's staff log (``/personeel/privacylog`` at LARS).

Art. 6: the hash chain is verified on every view and the first broken entry is named at the
top. Art. 4: the DPO supervises and handles no pupil's file, so a pupil is shown and filtered
on as its pseudonym only (no art. 6 dates needed: the page shows no pupil data). Filters are
in the address (no pupil key can be one), pages of 200 go by keyset on the entry's number; a
filter the page cannot use answers a 400 page naming the field.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from leerid.idp.console.disclosure_views import BadFilterError, parse_day
from leerid.idp.console.guard import ConsoleDep, Dpo
from leerid.idp.store.console import staff_log
from leerid.idp.store.console.staff_log_view import DpoQuery, dpo_page
from leerid.protocol.lifecycle import BRUSSELS

__all__ = ["ACTIONS", "PAGE", "chain_problem", "parse_query", "router"]

router = APIRouter()
PAGE = "/beheer/privacylog"

ACTIONS = {
    "pupil_search": "Leerling opgezocht in het register",
    "rejects_download": "Weigeringen van een import gedownload",
    "verstrekkingen_export": "Verstrekkingen gedownload",
    "meldingen_ingezien": "Meldingen over gegevenskwaliteit bekeken",
    "melding_gesloten": "Melding afgesloten",
    "melding_verstuurd": "Melding doorgestuurd naar de klant",
    "datalek_geregistreerd": "Gegevenslek geregistreerd",
    "datalek_bijgewerkt": "Gegevenslek bijgewerkt",
    "datalek_gemeld": "Gegevenslek gemeld aan de andere DPO",
    "staff_add": "Account toegevoegd",
    "staff_enable": "Account opnieuw ingeschakeld",
    "staff_disable": "Account uitgeschakeld",
    "staff_role": "Rol van een account gewijzigd",
    "staff_password": "Nieuw wachtwoord voor een account",
    "staff_dates": "Datums van art. 6 vastgelegd",
}
"""Every action DOV's staff log records, in the DPO's words (art. 6)."""

FIELDS = {
    "medewerker": "Medewerker",
    "actie": "Actie",
    "van": "Van",
    "tot": "Tot en met",
    "leerling": "Leerling (pseudoniem)",
    "na": "Volgende pagina",
    "voor": "Vorige pagina",
}
_PSEUDONYM = re.compile(r"^psn-[0-9a-f]{16}$")
_DUTCH_PROBLEMS = (
    (r"entry (\d+) is missing \(next entry present is (\d+)\)", "item {0} ontbreekt (het "
     "volgende aanwezige item is {1})"),
    (r"entry (\d+) appears out of order", "item {0} staat niet op zijn plaats"),
    (r"entry (\d+) does not chain to the entry before", "item {0} sluit niet aan op het item "
     "ervoor"),
    (r"entry (\d+) was altered", "item {0} werd gewijzigd (de hash klopt niet)"),
    (r"the log ends at entry (\d+) but its head records entry (\d+)", "het log eindigt bij "
     "item {0}, maar de kop vermeldt item {1}: de nieuwste items werden verwijderd of gewijzigd"),
)  # fmt: skip


def chain_problem(problem: str) -> str:
    """Art. 6: a problem ``staff_log.verify`` found, in Dutch."""
    for pattern, text in _DUTCH_PROBLEMS:
        found = re.match(pattern, problem)
        if found:
            return text.format(*found.groups())
    return "de keten klopt niet"


def _number(params: Mapping[str, str], field: str) -> int | None:
    value = params.get(field, "").strip()
    if not value:
        return None
    if not value.isdigit() or len(value) > 12 or int(value) < 1:
        raise BadFilterError(field, "gebruik de knoppen om te bladeren")
    return int(value)


def _start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), BRUSSELS).astimezone(dt.UTC)


def parse_query(params: Mapping[str, str]) -> DpoQuery:
    """The page's filters from its address; a wrong value raises ``BadFilterError``."""
    actor = params.get("medewerker", "").strip()
    if len(actor) > 80 or not actor.isprintable():
        raise BadFilterError("medewerker", "geef een gebruikersnaam van hoogstens 80 tekens")
    action = params.get("actie", "").strip()
    if action and action not in ACTIONS:
        raise BadFilterError("actie", "kies een actie uit de lijst")
    pupil = params.get("leerling", "").strip().lower()
    if pupil and not _PSEUDONYM.match(pupil):
        # art. 4: the DPO filters on the pseudonym as shown, never on a pupil's key
        raise BadFilterError("leerling", "geef een pseudoniem zoals het in het log staat "
                             "(psn- en 16 tekens)")  # fmt: skip
    first = parse_day(params, "van", dt.date.min)
    last = parse_day(params, "tot", dt.date.max)
    if first > last:
        raise BadFilterError("van", "de begindatum ligt na de einddatum; kies een vroegere datum")
    older, newer = _number(params, "na"), _number(params, "voor")
    if older is not None and newer is not None:
        raise BadFilterError("voor", "gebruik de knoppen om te bladeren")
    return DpoQuery(
        actor=actor,
        action=action,
        pseudonym=pupil,
        since=None if first == dt.date.min else _start(first),
        until=None if last == dt.date.max else _start(last + dt.timedelta(days=1)),
        older_than=older,
        newer_than=newer,
    )


def _filters(params: Mapping[str, str]) -> dict[str, str]:
    """The filters to keep when paging (not the paging itself)."""
    return {k: params[k].strip() for k in FIELDS if k in params and k not in ("na", "voor")}


@router.get(PAGE)
async def privacy_log_page(request: Request, who: Dpo, console: ConsoleDep) -> Response:
    """Art. 6: DOV's staff log, newest first, chain verified; pupils as pseudonyms (art. 4)."""
    params = dict(request.query_params)
    try:
        query = parse_query(params)
    except BadFilterError as error:
        field = FIELDS.get(error.field, error.field)
        return console.message(
            who,
            "Deze filter kan niet",
            f"Het veld „{field}” klopt niet: {error.text}. Pas het aan en probeer opnieuw.",
            400,
        )
    ctx = console.ctx
    check = await ctx.run(staff_log.verify, ctx.engine)
    found = await ctx.run(dpo_page, ctx.engine, query)
    kept = {k: v for k, v in _filters(params).items() if v}
    return console.page(
        request,
        "console_privacylog.html",
        who,
        check=check,
        problem=chain_problem(check.problems[0]) if check.problems else "",
        found=found,
        flt=kept,
        actions=ACTIONS,
        older=None if found.older is None else f"?{urlencode({**kept, 'na': found.older})}",
        newer=None if found.newer is None else f"?{urlencode({**kept, 'voor': found.newer})}",
    )
