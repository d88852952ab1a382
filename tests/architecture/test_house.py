"""The rules of docs/architecture.md hold on the real tree: one test per rule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.architecture import checker
from tests.architecture.checker import BOUNDARIES, Boundary, Module, Violation

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def modules() -> dict[str, Module]:
    """Every module of src/leerid, parsed once."""
    return checker.load_package(ROOT / "src", ROOT)


def _holds(violations: list[Violation]) -> None:
    assert not violations, "\n" + checker.report(violations)


@pytest.mark.parametrize("rule", BOUNDARIES, ids=lambda b: b.rule)
def test_rooms_import_only_what_they_may(rule: Boundary, modules: dict[str, Module]) -> None:
    """protocol-pure, transparency-pure, duties-shared, store-no-domain, sp-apart, oauth-no-io,
    web-no-sql, console-no-sql."""
    _holds(rule.check(modules))


def test_no_import_cycles(modules: dict[str, Module]) -> None:
    _holds(checker.no_cycles(modules))


def test_modules_and_functions_are_small(modules: dict[str, Module]) -> None:
    _holds(checker.sizes(modules))


def test_environment_is_read_only_in_settings(modules: dict[str, Module]) -> None:
    _holds(checker.environment_in_settings(modules))


def test_bench_demo_and_tests_use_the_one_kit() -> None:
    _holds(checker.harness_uses_kit(ROOT))


def test_the_checkers_see_the_whole_package(modules: dict[str, Module]) -> None:
    """A checker reading an empty or wrong folder would pass everything: it must not."""
    assert {"leerid", "leerid.errors", "leerid.config"} <= set(modules)
    assert len(modules) > 50
    assert sum(len(edges) for edges in checker.import_graph(modules).values()) > 100


def _documented_rooms() -> set[str]:
    """The paths in the first column of the rooms table of docs/architecture.md."""
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    table = doc.split("The rooms, as", 1)[1].split("\n## ", 1)[0]
    first_cells = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
    return {path for cell in first_cells for path in re.findall(r"`([\w/.]+)`", cell)}


def _in_a_room(rel: str, rooms: set[str]) -> bool:
    return any(rel == room or (room.endswith("/") and rel.startswith(room)) for room in rooms)


def test_the_layout_matches_the_doc() -> None:
    """Every room the doc names exists, and every module of src/leerid is in a named room."""
    package = ROOT / "src" / "leerid"
    rooms = _documented_rooms()
    missing = sorted(room for room in rooms if not (package / room).exists())
    assert not missing, f"docs/architecture.md names rooms that do not exist: {missing}"
    modules = (p.relative_to(package).as_posix() for p in package.rglob("*.py"))
    # a package's face (__init__.py) belongs to the rooms inside it
    unplaced = sorted(
        m for m in modules if not m.endswith("__init__.py") and not _in_a_room(m, rooms)
    )
    assert not unplaced, (
        f"modules in no room of docs/architecture.md: {unplaced}: add a row to its rooms table "
        "(or move the module into a room it names)"
    )
