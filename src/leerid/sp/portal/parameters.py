"""The portal's parameter table and its answer to a refused request (``leerid.edge``).

Every form field and query parameter of the portal has a maximum length; control characters
are refused, except line breaks and tabs in the text areas. The table is documented in
docs/service-provider.md (*Parameters*). A refused request gets the portal's message page
(Dutch), 400, or 413 for a body above ``MAX_BODY``.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import HTMLResponse, Response
from starlette.types import Scope

from leerid.edge import Problem, Rule, Rules
from leerid.sp.portal.templating import render

__all__ = ["MAX_BODY", "RULES", "refusal", "rules_for"]

MAX_BODY = 65536
"""Bytes of a request body: the largest form (a breach) fits several times."""

_AREA = Rule(4000, free_text=True)

RULES = Rules(
    {
        "csrf": Rule(128),
        "gebruikersnaam": Rule(80),
        "wachtwoord": Rule(1024),
        "doel": Rule(500),
        "sleutel": Rule(128),  # a pupil reference sealed for one member of staff (art. 4)
        "tekst": _AREA,
        "attribuut": Rule(64),
        "probleem": Rule(64),
        "soort": Rule(64),  # a dossier entry's record type ([dossier] record_types)
        "toelichting": Rule(2000, free_text=True),
        "vastgesteld": Rule(32),
        "aantal": Rule(9),  # a whole number that fits the database's integer
        "wat": _AREA,
        "categorieen": Rule(1000),
        "maatregelen": _AREA,
        "risico": _AREA,
        "datum": Rule(32),
        "eigenaar": Rule(200),
        "status": Rule(32),
        "gekoppeld": Rule(8),
        # the authorization response at /callback (RFC 6749 §4.1.2, Appendix A; RFC 9207)
        "code": Rule(8192, vschar=True),  # LeerID's codes are sealed grants: ~700 characters
        "state": Rule(2048, vschar=True),
        "iss": Rule(2048),
        "error": Rule(128),
        "error_description": Rule(1024),
        "error_uri": Rule(2048),
    },
    default=Rule(2048),
)
"""One rule per field name; any other name: at most 2,048 characters, no control character."""

_TEXT = {
    "control": "Het veld {name} bevat een teken dat niet toegelaten is. Pas het aan en probeer "
    "opnieuw.",
    "not_vschar": "Het veld {name} bevat een teken dat niet toegelaten is. Pas het aan en "
    "probeer opnieuw.",
    "too_long": "Het veld {name} is te lang: gebruik hoogstens {limit} tekens.",
    "too_large": "Wat je verstuurde is te groot. Maak de tekst korter en probeer opnieuw.",
}
_UNREADABLE = "Deze aanvraag is onleesbaar. Ga terug en probeer opnieuw."


def rules_for(_path: str) -> Rules:
    """One table for every path of the portal."""
    return RULES


def refusal(site: str) -> Callable[[Scope, Problem], Response]:
    """The message page for a refused request."""

    def refuse(_scope: Scope, problem: Problem) -> Response:
        text = _TEXT.get(problem.kind, _UNREADABLE).format(name=problem.name, limit=problem.limit)
        html = render(
            "message.html",
            site=site,
            nav=[],
            heading="Ongeldige invoer",
            message=text,
            bad=True,
            back="/",
        )
        return HTMLResponse(html, problem.status)

    return refuse
