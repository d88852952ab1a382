"""Which role may see which console page: the one table the matrix, the browser run and the
guide (docs/dov-console.md, "Pages and roles") share.

Every GET route under ``/beheer`` (DOV's console) and ``/personeel`` (the LARS portal's staff
pages) must have a row here: ``test_every_get_route_is_in_the_table`` reads the apps' routes
and fails on one without a row, so a page added later cannot go untested. A role not in a
row's ``allowed`` gets 403 (art. 4 at LARS; the console guard at DOV); without a session a
page sends the visitor to the login (303), except the login page itself (``PUBLIC``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "APPS",
    "DOWNLOAD",
    "HTML",
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
"""A file (CSV, gzip): 200 with an attachment for an allowed role; not shown in the browser."""
REDIRECT = "redirect"
"""An old address kept alive: a redirect (308) for an allowed role."""
PUBLIC = frozenset({"*"})
"""Anyone, also without a session (the login pages)."""

APPS = {"dov": "/beheer", "lars": "/personeel"}
"""Each app's console and where its pages live."""

ROLES: dict[str, tuple[str, ...]] = {
    # DOV's console: its two roles, and an operator whose art. 6 dates are not recorded
    # (confidentiality pledge, awareness training): sees no pupil data.
    "dov": ("operator", "operator-zonder-art6", "dpo"),
    # LARS: every role of the LARS protocol (art. 4), and a member of staff in the role that
    # sees pupil data whose art. 6 dates are not recorded.
    "lars": ("toegangscontrole", "toegangscontrole-zonder-art6", "medewerker", "dpo"),
}
ROLE_TEXT = {
    "operator": "operator",
    "operator-zonder-art6": "operator without art. 6 dates",
    "dpo": "DPO",
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
        return self.route.format(**params)


def _lars(route: str, name: str, title: str, *allowed: str, kind: str = HTML) -> Page:
    return Page("lars", route, name, title, frozenset(allowed), kind)


def _dov(route: str, name: str, title: str, *allowed: str, kind: str = HTML) -> Page:
    return Page("dov", route, name, title, frozenset(allowed), kind)


_LARS_ALL = ROLES["lars"]
_DOV_ALL = ROLES["dov"]

PAGES: tuple[Page, ...] = (
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
        "/personeel/privacylog.csv", "privacylog-csv", "Privacylog als CSV", "dpo", kind=DOWNLOAD
    ),
    _lars("/personeel/meldingen", "meldingen", "Meldingen gegevenskwaliteit", "dpo"),
    _lars("/personeel/datalekken", "datalekken", "Gegevenslekken", "dpo"),
    _lars("/personeel/bewijs", "bewijs", "Bewijs van de maatregelen", "dpo"),
    _lars("/personeel/bewijs/risico", "risico", "Risico's registreren", "dpo"),
)


def pages_of(app: str) -> list[Page]:
    return [p for p in PAGES if p.app == app]


def _cell(page: Page, role: str) -> str:
    if page.allowed == PUBLIC or role in page.allowed:
        return {HTML: "yes", DOWNLOAD: "yes (a file)", REDIRECT: "yes (redirected)"}[page.kind]
    return "403"


def markdown_table(app: str) -> str:
    """The guide's table for ``app``: one row per page, one column per role, and the answer
    without a session."""
    roles = ROLES[app]
    head = "| Page | Path | " + " | ".join(ROLE_TEXT[r] for r in roles) + " | no session |"
    rule = "|" + "---|" * (len(roles) + 3)
    rows = [
        f"| {p.title} | `{p.route}` | "
        + " | ".join(_cell(p, r) for r in roles)
        + (" | yes |" if p.allowed == PUBLIC else " | 303 to the login |")
        for p in pages_of(app)
    ]
    return "\n".join([head, rule, *rows])


if __name__ == "__main__":  # the tables for docs/dov-console.md
    for name in APPS:
        print(markdown_table(name), end="\n\n")
