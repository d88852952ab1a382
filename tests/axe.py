"""axe-core in the browser tests: every page, at desktop and phone width, without violations.

`make test` installs npm's axe-core (the version pinned in the Makefile) in
`.leerid/node`; `LEERID_AXE_JS` points at another copy. The script is evaluated in the page
through the DevTools protocol, which the pages' Content-Security-Policy does not block.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from playwright.sync_api import Page

ROOT = Path(__file__).resolve().parent.parent
AXE_JS = Path(
    os.environ.get("LEERID_AXE_JS", ROOT / ".leerid/node/node_modules/axe-core/axe.min.js")
)
WIDTHS = (1280, 375)  # desktop, phone


def _axe_source() -> str:
    if not AXE_JS.is_file():
        raise AssertionError(
            f"axe-core is missing at {AXE_JS}: run `make test-deps` (installs the pinned "
            "axe-core) or set LEERID_AXE_JS"
        )
    return AXE_JS.read_text(encoding="utf-8")


def violations(page: Page) -> list[str]:
    """axe-core's violations on the page as it is now, one line each (rule, nodes, help)."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(_axe_source())
    result = page.evaluate(
        "async () => { const r = await axe.run(document);"
        " return {violations: r.violations, passes: r.passes.length}; }"
    )
    assert result["passes"] > 0, f"axe-core checked nothing on {page.url}"
    found = result["violations"]
    return [
        f"{page.url} at {page.viewport_size['width'] if page.viewport_size else '?'} px: "
        f"{v['id']} ({v['help']}): " + json.dumps([node["target"] for node in v["nodes"]][:5])
        for v in found
    ]


def check_widths(page: Page, found: list[str]) -> None:
    """Run axe on the current page at every width of ``WIDTHS``; add what it finds."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        found.extend(violations(page))
