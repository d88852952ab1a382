"""The console's menu: each page once, with the roles that may open it (art. 4, 6).

A page of the console adds its line here; ``console_base.html`` shows a role the lines it
may open, so nobody is shown a link that answers 403.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BOTH", "DPO", "NAV", "OPERATOR", "NavItem", "nav_for"]

OPERATOR, DPO = "operator", "dpo"
BOTH = (OPERATOR, DPO)


@dataclass(frozen=True)
class NavItem:
    """One menu line: its path, its label and the roles that may open it."""

    path: str
    label: str
    roles: tuple[str, ...]


NAV: list[NavItem] = [
    NavItem("/beheer", "Start", BOTH),
    NavItem("/beheer/register", "Register", (OPERATOR,)),
    NavItem("/beheer/register/samenvoegingen", "Samenvoegingen", BOTH),
    NavItem("/beheer/protocollen", "Protocollen", BOTH),
    NavItem("/beheer/clients", "Clients", BOTH),
    NavItem("/beheer/verstrekkingen", "Verstrekkingen", BOTH),
    NavItem("/beheer/aanmeldingen", "Aanmeldingen", BOTH),
    NavItem("/beheer/meldingen", "Meldingen", BOTH),  # art. 7: the operator handles, DPO reads
    NavItem("/beheer/kennisgevingen", "Kennisgevingen", BOTH),  # art. 6, 9
    NavItem("/beheer/datalekken", "Datalekken", (DPO,)),  # art. 9: between the DPOs
    NavItem("/beheer/bewijs", "Bewijs", BOTH),  # art. 6: evidence on request
    NavItem("/beheer/privacylog", "Privacylog", (DPO,)),  # art. 4, 6: pseudonyms only
]
"""Every menu line, in the order shown."""


def nav_for(role: str) -> list[NavItem]:
    """The menu lines ``role`` may open."""
    return [item for item in NAV if role in item.roles]
