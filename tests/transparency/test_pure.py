"""leerid.transparency is pure (docs/architecture.md): it imports the standard library,
``cryptography``, ``leerid.errors``, ``leerid.insz_text`` and itself, nothing else, so the
provider, the service provider's kit and an offline checker can all use it."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "leerid" / "transparency"
ALLOWED = ("cryptography", "leerid.errors", "leerid.insz_text", "leerid.transparency")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def test_the_package_imports_only_the_stdlib_cryptography_and_its_ground_floor() -> None:
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) >= 8
    for path in modules:
        for name in _imports(path):
            top = name.split(".")[0]
            allowed = top in sys.stdlib_module_names or name.startswith(ALLOWED)
            assert allowed, f"{path.name} imports {name}: the transparency package stays pure"
