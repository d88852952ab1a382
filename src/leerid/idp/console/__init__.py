"""DOV's console (``/beheer``, issue 13): the pages DOV's operators and DPO use every day.

``CONSOLE_ROUTERS`` lists the routers the provider mounts at the root (not under the issuer
path); every handler takes the console guard's dependency for who may see it
(``leerid.idp.console.guard``). ``FALLBACK`` is mounted after them: a 404 page for any
other path under ``/beheer``.
"""

from __future__ import annotations

from fastapi import APIRouter

from leerid.idp.console import (
    breach_pages,
    clients,
    disclosure_pages,
    duty_pages,
    evidence_pages,
    home,
    protocols,
    registry,
    session,
    staff_log_pages,
)

__all__ = ["CONSOLE_ROUTERS", "FALLBACK"]

CONSOLE_ROUTERS: list[APIRouter] = [
    session.router,
    home.router,
    registry.router,
    protocols.router,
    clients.router,
    disclosure_pages.router,
    duty_pages.router,
    breach_pages.router,
    evidence_pages.router,
    staff_log_pages.router,
]
"""Every router of the console, in the order they are matched."""

FALLBACK = home.fallback
