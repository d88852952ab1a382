"""DOV's console (``/beheer``, issue 13): the pages DOV's operators and DPO use every day.

``CONSOLE_ROUTERS`` lists the routers the provider mounts at the root (not under the issuer
path); every handler takes the console guard's dependency for who may see it.
"""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["CONSOLE_ROUTERS"]

CONSOLE_ROUTERS: list[APIRouter] = []
"""Every router of the console, in the order they are matched."""
