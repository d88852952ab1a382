"""Which role may see which console page: the one table the matrix, the browser run and the
guide (docs/dov-console.md, "Pages and roles") share.

Every GET route under ``/beheer`` (DOV's console) and ``/personeel`` (the LARS portal's staff
pages) must have a row here: ``test_every_get_route_is_in_the_table`` reads the apps' routes
and fails on one without a row, so a page added later cannot go untested. A role not in a
row's ``allowed`` gets 403 (art. 4 at LARS; the console guard at DOV); without a session a
page sends the visitor to the login (303), except the login page itself (``PUBLIC``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "APPS",
    "DOWNLOAD",
    "HTML",
    "MISSING",
    "PAGES",
    "PUBLIC",
    "REDIRECT",
    "ROLES",
    "Page",
    "markdown_table",
    "pages_of",
]

HTML = "html"
"""A page: 200 with HTML for an allowed role."""
DOWNLOAD = "download"
"""A file (CSV, JSON, the stylesheet): 200 and not HTML for an allowed role; not shown in
the browser."""
MISSING = "missing"
"""The catch-all of unknown paths: a 404 page for everyone, with a session or without."""
REDIRECT = "redirect"
"""An old address kept alive, or a GET that leads to the page with the form: a redirect for an
allowed role."""
PUBLIC = frozenset({"*"})
"""Anyone, also without a session (the login pages)."""

APPS = {"dov": "/beheer", "lars": "/personeel"}
"""Each app's console and where its pages live."""

ROLES: dict[str, tuple[str, ...]] = {
    # DOV's console: its two roles, and an operator and a DPO whose art. 6 dates are not
    # recorded (confidentiality pledge, awareness training): they see no pupil data.
    "dov": ("operator", "operator-zonder-art6", "dpo", "dpo-zonder-art6"),
    # LARS: every role of the LARS protocol (art. 4), and a member of staff in the role that
    # sees pupil data whose art. 6 dates are not recorded.
    "lars": ("toegangscontrole", "toegangscontrole-zonder-art6", "medewerker", "dpo"),
}
ROLE_TEXT = {
    "operator": "operator",
    "operator-zonder-art6": "operator without art. 6 dates",
    "dpo": "DPO",
    "dpo-zonder-art6": "DPO without art. 6 dates",
    "toegangscontrole": "toegangscontrole",
    "toegangscontrole-zonder-art6": "toegangscontrole without art. 6 dates",
    "medewerker": "medewerker",
}


@dataclass(frozen=True)
class Page:
    """One GET route of a console and the roles that get it."""

    app: str
    route: str
    """The path as the app declares it, e.g. ``/beheer/lekken/{number}``."""
    name: str
    """Short and file-name safe: the screenshot's name."""
    title: str
    """What the page is, in the guide's table."""
    allowed: frozenset[str]
    kind: str = HTML

    def path(self, params: dict[str, str]) -> str:
        """The route with its parameters filled from the world's data."""
        return re.sub(r"\{(\w+):\w+\}", r"{\1}", self.route).format(**params)

    def matches(self, path: str) -> bool:
        """Whether ``path`` (without query) is this route with some parameters."""
        pattern = re.sub(
            r"\\\{\w+(:path)?\\\}", lambda m: ".+" if m[1] else "[^/]+", re.escape(self.route)
        )
        return re.fullmatch(pattern, path) is not None


def _lars(route: str, name: str, title: str, *allowed: str, kind: str = HTML) -> Page:
    return Page("lars", route, name, title, frozenset(allowed), kind)


def _dov(route: str, name: str, title: str, *allowed: str, kind: str = HTML) -> Page:
    return Page("dov", route, name, title, frozenset(allowed), kind)


_LARS_ALL = ROLES["lars"]
_DOV_ALL = ROLES["dov"]

_OPERATORS = ("operator", "operator-zonder-art6")

PAGES: tuple[Page, ...] = (
    Page("dov", "/beheer/aanmelden", "aanmelden", "Aanmelden", PUBLIC),
    Page("dov", "/beheer/static/console.css", "css", "The stylesheet", PUBLIC, DOWNLOAD),
    Page("dov", "/beheer/{rest:path}", "onbekend", "Any other path", PUBLIC, MISSING),
    _dov("/beheer", "start", "Start", *_DOV_ALL),
    _dov("/beheer/register", "register", "Register: imports", *_OPERATORS),
    _dov(
        "/beheer/register/imports/{run_id}/weigeringen.csv",
        "weigeringen-csv",
        "An import's rejects (CSV)",
        "operator",
        kind=DOWNLOAD,
    ),
    _dov("/beheer/register/zoeken", "zoeken", "Register: a pupil searched", "operator"),
    _dov("/beheer/register/samenvoegingen", "samenvoegingen", "Samenvoegingen", *_DOV_ALL),
    _dov("/beheer/protocollen", "protocollen", "Protocollen", *_DOV_ALL),
    _dov("/beheer/clients", "clients", "Clients", *_DOV_ALL),
    _dov("/beheer/verstrekkingen", "verstrekkingen", "Verstrekkingen", *_DOV_ALL),
    _dov(
        "/beheer/verstrekkingen.csv",
        "verstrekkingen-csv",
        "Verstrekkingen: counts (CSV)",
        *_DOV_ALL,
        kind=DOWNLOAD,
    ),
    _dov(
        "/beheer/verstrekkingen/lijnen.csv",
        "lijnen-csv",
        "Verstrekkingen: records (CSV)",
        *_DOV_ALL,
        kind=DOWNLOAD,
    ),
    _dov("/beheer/aanmeldingen", "aanmeldingen", "Aanmeldingen", *_DOV_ALL),
    _dov("/beheer/meldingen", "meldingen", "Meldingen (art. 7)", "operator", "dpo"),
    _dov("/beheer/kennisgevingen", "kennisgevingen", "Kennisgevingen", *_DOV_ALL),
    _dov("/beheer/datalekken", "datalekken", "Datalekken", "dpo"),
    _dov("/beheer/bewijs", "bewijs", "Bewijs", *_DOV_ALL),
    _dov("/beheer/bewijs.json", "bewijs-json", "Bewijs (JSON)", *_DOV_ALL, kind=DOWNLOAD),
    _dov("/beheer/privacylog", "privacylog", "Privacylog", "dpo", "dpo-zonder-art6"),
    Page("lars", "/personeel/aanmelden", "aanmelden", "Aanmelden", PUBLIC),
    _lars("/personeel", "overzicht", "Overzicht", *_LARS_ALL),
    _lars("/personeel/leerlingen", "leerlingen", "Leerlingen zoeken", "toegangscontrole"),
    _lars("/personeel/medewerkers", "medewerkers", "Medewerkers beheren", "dpo"),
    _lars(
        "/personeel/opleiding",
        "opleiding",
        "Opleiding (old address of Medewerkers)",
        "dpo",
        kind=REDIRECT,
    ),
    _lars("/personeel/privacylog", "privacylog", "Privacylog", "dpo"),
    _lars("/personeel/privacylog/inzage", "inzage", "Wie bekeek dit dossier", "dpo"),
    _lars("/personeel/privacylog/grafiek", "grafiek", "Inzages per dag en functie", "dpo"),
    _lars(
        "/personeel/privacylog.csv",
        "privacylog-csv",
        "Privacylog als CSV (a POST; a GET leads to the log page)",
        "dpo",
        kind=REDIRECT,
    ),
    _lars("/personeel/meldingen", "meldingen", "Meldingen gegevenskwaliteit", "dpo"),
    _lars("/personeel/datalekken", "datalekken", "Gegevenslekken", "dpo"),
    _lars("/personeel/bewijs", "bewijs", "Bewijs van de maatregelen", "dpo"),
    _lars("/personeel/bewijs/risico", "risico", "Risico's registreren", "dpo"),
)


def pages_of(app: str) -> list[Page]:
    return [p for p in PAGES if p.app == app]


def _cell(page: Page, role: str) -> str:
    if page.kind == MISSING:
        return "404"
    if page.allowed == PUBLIC or role in page.allowed:
        return {HTML: "yes", DOWNLOAD: "yes (a file)", REDIRECT: "yes (redirected)"}[page.kind]
    return "403"


def _anonymous(page: Page) -> str:
    if page.kind == MISSING:
        return " | 404 |"
    return " | yes |" if page.allowed == PUBLIC else " | 303 to the login |"


def markdown_table(app: str) -> str:
    """The guide's table for ``app``: one row per page, one column per role, and the answer
    without a session."""
    roles = ROLES[app]
    head = "| Page | Path | " + " | ".join(ROLE_TEXT[r] for r in roles) + " | no session |"
    rule = "|" + "---|" * (len(roles) + 3)
    rows = [
        f"| {p.title} | `{p.route}` | " + " | ".join(_cell(p, r) for r in roles) + _anonymous(p)
        for p in pages_of(app)
    ]
    return "\n".join([head, rule, *rows])


if __name__ == "__main__":  # the tables for docs/dov-console.md
    for name in APPS:
        print(markdown_table(name), end="\n\n")
