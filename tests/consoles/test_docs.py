"""The guide's page-by-role tables are the tests' table (docs/dov-console.md, "Pages and
roles")."""

from __future__ import annotations

from tests.consoles.pages import APPS, markdown_table
from tests.sp.conftest import ROOT

GUIDE = ROOT / "docs" / "dov-console.md"
HEADINGS = {"dov": "### DOV's console (`/beheer`)", "lars": "### LARS's staff pages (`/personeel`)"}


def guide_table(text: str, app: str) -> str:
    """The lines of the first table after the app's heading in "Pages and roles"."""
    section = text[text.index("## Pages and roles") :]
    lines = section[section.index(HEADINGS[app]) :].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return "\n".join(lines[start:end])


def test_the_guide_shows_the_table_the_tests_use() -> None:
    text = GUIDE.read_text(encoding="utf-8")
    assert set(HEADINGS) == set(APPS)
    for app in APPS:
        table = markdown_table(app)
        assert guide_table(text, app) == table, (
            f"docs/dov-console.md's table for {app} differs from tests/consoles/pages.py; "
            f"paste the output of `python -m tests.consoles.pages`:\n{table}"
        )
