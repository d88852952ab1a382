"""The house's rules as functions over source trees: each returns the places that break one.

Only the standard library's ``ast`` is used. A checker takes the folder holding the
``leerid`` package (``src/``) or the project root and returns ``Violation`` values; the tests
in ``test_house.py`` run them on the real tree and ``test_checker.py`` on small synthetic
trees that break each rule, so that a checker that cannot fail is caught.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "leerid"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
DOMAIN = (
    "idp",
    "registry",
    "sp",
    "protocol",
    "transparency",
    "duties",
    "cli",
    "testing",
    "demo",
    "schema",
)
NO_IO_LIBRARIES = ("sqlalchemy", "httpx", "starlette", "fastapi")
SETTINGS_MODULES = ("leerid.config", "leerid.idp.settings", "leerid.sp.kit.settings")
KIT = "leerid.testing"
# The harnesses that must use the kit rather than carry their own copy (when they exist).
KIT_USERS = (
    "bench/login_flow.py",
    "bench/sp_retention.py",
    "src/leerid/demo.py",
    "tests/idp_server.py",
    "tests/login/live_server.py",
    "tests/login/oidc_flow.py",
    "tests/idp/flow.py",
    "tests/sp/lars_world.py",
    "tests/fuzz/servers.py",
    "tests/registry_seed.py",
)


@dataclass(frozen=True)
class Violation:
    """One place that breaks one rule, and what to do about it."""

    rule: str
    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: [{self.rule}] {self.message}"


@dataclass(frozen=True)
class Module:
    """A parsed module of the package: its dotted name, its file and its syntax tree."""

    name: str
    path: str  # as shown in messages (relative to the project root)
    is_package: bool
    tree: ast.Module
    lines: int


@dataclass(frozen=True)
class Import:
    """One imported name, resolved to an absolute dotted name."""

    source: str
    target: str
    line: int
    type_checking: bool  # under ``if TYPE_CHECKING:``: not executed at run time


def report(violations: Iterable[Violation]) -> str:
    """The violations one per line, for an assertion message."""
    return "\n".join(str(v) for v in violations)


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _shown(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def load_package(src: Path, root: Path | None = None) -> dict[str, Module]:
    """Every module of ``src/leerid`` by dotted name (paths shown relative to ``root``)."""
    shown_root = root if root is not None else src.parent
    modules: dict[str, Module] = {}
    for path in sorted((src / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        text = path.read_text(encoding="utf-8")
        modules[".".join(parts)] = Module(
            name=".".join(parts),
            path=_shown(path, shown_root),
            is_package=is_package,
            tree=ast.parse(text, filename=str(path)),
            lines=len(text.splitlines()),
        )
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _walk(node: ast.AST, type_checking: bool = False) -> Iterator[tuple[ast.AST, bool]]:
    """Every node under ``node`` with whether it sits in an ``if TYPE_CHECKING:`` body."""
    for child in ast.iter_child_nodes(node):
        yield child, type_checking
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for stmt in child.body:
                yield stmt, True
                yield from _walk(stmt, True)
            for stmt in child.orelse:
                yield stmt, type_checking
                yield from _walk(stmt, type_checking)
        else:
            yield from _walk(child, type_checking)


def imports_of(module: Module) -> list[Import]:
    """Every import of ``module``, at module level and inside functions, made absolute."""
    found: list[Import] = []
    package = module.name if module.is_package else module.name.rpartition(".")[0]
    for node, tc in _walk(module.tree):
        if isinstance(node, ast.Import):
            found += [Import(module.name, a.name, node.lineno, tc) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(p for p in [*base_parts, node.module or ""] if p)
            else:
                base = node.module or ""
            found += [Import(module.name, f"{base}.{a.name}", node.lineno, tc) for a in node.names]
        elif (name := _dynamic_import(node)) is not None:
            found.append(Import(module.name, name, getattr(node, "lineno", 0), tc))
    return found


def _dynamic_import(node: ast.AST) -> str | None:
    """The module of ``importlib.import_module("a.b")`` or ``__import__("a.b")``, if constant."""
    if not isinstance(node, ast.Call) or not node.args:
        return None
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    first = node.args[0]
    if name in ("import_module", "__import__") and isinstance(first, ast.Constant):
        return first.value if isinstance(first.value, str) else None
    return None


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _resolve(target: str, modules: dict[str, Module]) -> str | None:
    """The leerid module an imported name lives in (longest known prefix), if any."""
    parts = target.split(".")
    while parts:
        name = ".".join(parts)
        if name in modules:
            return name
        parts.pop()
    return None


@dataclass(frozen=True)
class Boundary:
    """A rule of the kind "modules in these rooms import nothing under those names"."""

    rule: str
    rooms: tuple[str, ...]
    forbidden: tuple[str, ...]
    advice: str
    allowed: tuple[str, ...] = ()

    def check(self, modules: dict[str, Module]) -> list[Violation]:
        """One violation per import line that crosses the boundary."""
        found: list[Violation] = []
        for module in modules.values():
            if not any(_within(module.name, room) for room in self.rooms):
                continue
            by_line: dict[int, list[str]] = {}
            for imp in imports_of(module):
                if self._crosses(imp.target):
                    by_line.setdefault(imp.line, []).append(imp.target)
            found += [
                Violation(
                    self.rule,
                    module.path,
                    line,
                    f"{module.name} imports {', '.join(targets)}, off limits here "
                    f"({', '.join(self.forbidden)}). {self.advice}",
                )
                for line, targets in by_line.items()
            ]
        return found

    def _crosses(self, target: str) -> bool:
        if any(_within(target, name) for name in (*self.allowed, *self.rooms)):
            return False
        return any(_within(target, name) for name in self.forbidden)


BOUNDARIES = (
    Boundary(
        "protocol-pure",
        ("leerid.protocol",),
        (PACKAGE,),
        "The protocol model is pure: move the code that needs this out of protocol/, "
        "or pass the value in as an argument.",
        # csv_safe, like errors, imports nothing of leerid: the register's CSV form (art. 30)
        # needs the one formula-safe CSV writer, and a copy of it here would be a second one
        allowed=("leerid.errors", "leerid.csv_safe"),
    ),
    Boundary(
        "transparency-pure",
        ("leerid.transparency",),
        (PACKAGE, *NO_IO_LIBRARIES),
        "The transparency log's math and formats are pure (both parties and an offline "
        "checker use them): read and write in idp/store/tlog or sp/kit, pass bytes in.",
        allowed=("leerid.errors", "leerid.insz_text"),
    ),
    Boundary(
        "duties-shared",
        ("leerid.duties",),
        (PACKAGE,),
        "duties/ is shared by DOV and the recipient: it may not know either party; pass "
        "their tables, settings or callbacks in as arguments.",
        allowed=("leerid.errors", "leerid.insz_text", "leerid.store", "leerid.csv_safe"),
    ),
    Boundary(
        "store-no-domain",
        ("leerid.store",),
        tuple(f"{PACKAGE}.{d}" for d in DOMAIN),
        "store/ holds the engine, Base and the migration runner only: let the part "
        "hand its metadata/migrations to the runner instead of importing it here.",
    ),
    Boundary(
        "sp-apart",
        ("leerid.sp",),
        ("leerid.idp", "leerid.registry"),
        "A service provider talks to the provider over HTTP only: use the relying "
        "party (sp/kit) or move the shared piece to leerid.protocol / leerid.errors.",
    ),
    Boundary(
        "oauth-no-io",
        ("leerid.idp.oauth", "leerid.idp.release"),
        NO_IO_LIBRARIES,
        "These rules are pure: fetch in idp/store or idp/web and pass plain values in.",
    ),
    Boundary(
        "web-no-sql",
        ("leerid.idp.web",),
        ("sqlalchemy",),
        "Add a method to the store interface (idp/store) and call that instead.",
    ),
    Boundary(
        "console-no-sql",
        ("leerid.idp.console",),
        ("sqlalchemy",),
        "The console's pages are handlers: put the query in idp/store/console and call it.",
    ),
)


def boundary(rule: str) -> Boundary:
    """The boundary rule named ``rule``."""
    return next(b for b in BOUNDARIES if b.rule == rule)


def import_graph(modules: dict[str, Module]) -> dict[str, dict[str, int]]:
    """Run-time edges between leerid modules: source → {target: first line}."""
    graph: dict[str, dict[str, int]] = {name: {} for name in modules}
    for module in modules.values():
        for imp in imports_of(module):
            if imp.type_checking:
                continue
            target = _resolve(imp.target, modules)
            if target is not None and target != module.name:
                graph[module.name].setdefault(target, imp.line)
    return graph


def _components(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(graph[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                found.append(sorted(component))
    return found


def _shortest_cycle(graph: dict[str, dict[str, int]], start: str, members: set[str]) -> list[str]:
    """A shortest path start → … → start inside one component."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for child in graph[node]:
                if child not in members:
                    continue
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    return [start, start]


def no_cycles(modules: dict[str, Module]) -> list[Violation]:
    """No import cycles between leerid modules (imports inside functions included)."""
    graph = import_graph(modules)
    found: list[Violation] = []
    for component in _components(graph):
        if len(component) < 2:
            continue
        cycle = _shortest_cycle(graph, component[0], set(component))
        steps = " -> ".join(
            f"{modules[a].path}:{graph[a][b]}" for a, b in itertools.pairwise(cycle)
        )
        files = ", ".join(modules[m].path for m in component)
        first = modules[cycle[0]]
        found.append(
            Violation(
                "no-cycles",
                first.path,
                graph[cycle[0]][cycle[1]],
                f"import cycle of {len(component)} modules ({files}); one loop: {steps} -> "
                f"{modules[cycle[0]].path}. Break it: move the shared piece into a module "
                "both can import, or pass it in as an argument.",
            )
        )
    return found


def _exempt_from_size(path: str) -> bool:
    # Alembic migration files are exempt: a released migration is never edited (a database
    # that already ran it must upgrade the same way), so it cannot be cut to size.
    parts = path.split("/")
    return any(pair == ("migrations", "versions") for pair in itertools.pairwise(parts))


def sizes(modules: dict[str, Module]) -> list[Violation]:
    """No module over 400 lines, no function over 60 lines (migration files exempt)."""
    found: list[Violation] = []
    for module in modules.values():
        if _exempt_from_size(module.path):
            continue
        if module.lines > MAX_MODULE_LINES:
            found.append(
                Violation(
                    "module-size",
                    module.path,
                    1,
                    f"{module.lines} lines (at most {MAX_MODULE_LINES}): split it into modules "
                    "of one idea each.",
                )
            )
        for node in ast.walk(module.tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found.append(
                        Violation(
                            "function-size",
                            module.path,
                            node.lineno,
                            f"{node.name} is {length} lines (at most {MAX_FUNCTION_LINES}): "
                            "cut it into named steps.",
                        )
                    )
    return found


def _is_os_environ(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
        and node.attr in ("environ", "environb")
    )


def _handed_on(tree: ast.Module) -> set[int]:
    """``os.environ`` nodes that write a variable or hand the environment to a child process.

    Setting a variable for the workers (``os.environ[k] = v``, ``del``, ``update``) and
    copying the whole environment for a subprocess (``dict(os.environ)``,
    ``{**os.environ, …}``, ``os.environ.copy()``, ``env=os.environ``) look up no setting:
    the child reads its settings at its start. Every other use of ``os.environ`` is a read.
    """
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store | ast.Del):
            ids.add(id(node.value))
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in ("update", "copy"):
                ids.add(id(func.value))
            if isinstance(func, ast.Name) and func.id == "dict":
                ids.update(id(arg) for arg in node.args)
            ids.update(id(k.value) for k in node.keywords if k.arg == "env")
        elif isinstance(node, ast.Dict):
            ids.update(id(v) for k, v in zip(node.keys, node.values, strict=True) if k is None)
    return ids


def _environment_reads(tree: ast.Module) -> Iterator[tuple[int, str, bool]]:
    """(line, what, at import time) for every read of the environment in ``tree``."""
    handed_on = _handed_on(tree)

    def visit(node: ast.AST, in_function: bool) -> Iterator[tuple[int, str, bool]]:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
            )
            if _is_os_environ(child) and id(child) not in handed_on:
                yield getattr(child, "lineno", 0), "os.environ", not inside
            elif (
                isinstance(child, ast.Attribute)
                and isinstance(child.value, ast.Name)
                and child.value.id == "os"
                and child.attr in ("getenv", "getenvb")
            ):
                yield child.lineno, f"os.{child.attr}", not inside
            elif isinstance(child, ast.ImportFrom) and child.module == "os":
                for alias in child.names:
                    if alias.name in ("environ", "environb", "getenv", "getenvb"):
                        yield child.lineno, f"from os import {alias.name}", not inside
            yield from visit(child, inside)

    yield from visit(tree, False)


def environment_in_settings(modules: dict[str, Module]) -> list[Violation]:
    """The environment is read only in the settings modules, and never at import time."""
    found: list[Violation] = []
    for module in modules.values():
        for line, what, at_import in _environment_reads(module.tree):
            if module.name not in SETTINGS_MODULES:
                found.append(
                    Violation(
                        "environment",
                        module.path,
                        line,
                        f"{what} outside the settings modules ({', '.join(SETTINGS_MODULES)}): "
                        "add the variable to the part's settings and pass the value in.",
                    )
                )
            elif at_import:
                found.append(
                    Violation(
                        "environment",
                        module.path,
                        line,
                        f"{what} read at import time: read it in the settings' from_env "
                        "(at start), so tests and servers see the value they set.",
                    )
                )
    return found


def _regex_calls(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, literal text) of each pattern handed to ``re.compile/search/findall/…``."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name not in ("compile", "search", "findall", "finditer", "match", "fullmatch"):
            continue
        pattern = node.args[0]
        if isinstance(pattern, ast.Constant) and isinstance(pattern.value, str):
            yield node.lineno, pattern.value
        elif isinstance(pattern, ast.JoinedStr):
            text = "".join(
                v.value
                for v in pattern.values
                if isinstance(v, ast.Constant) and isinstance(v.value, str)
            )
            yield node.lineno, text


def _form_parsers(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, what) for each hand-made form or hidden-field parser in ``tree``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(
            (isinstance(b, ast.Name) and b.id == "HTMLParser")
            or (isinstance(b, ast.Attribute) and b.attr == "HTMLParser")
            for b in node.bases
        ):
            words = {
                c.value
                for c in ast.walk(node)
                if isinstance(c, ast.Constant) and isinstance(c.value, str)
            }
            if words & {"input", "hidden", "form"}:
                yield node.lineno, f"class {node.name}(HTMLParser) parses forms"
    for line, text in _regex_calls(tree):
        if "value=" in text and ("name=" in text or "hidden" in text):
            yield line, "a regular expression picks hidden fields out of a page"


def _kit_files(root: Path) -> Iterator[Path]:
    for folder in ("src", "bench", "tests"):
        for path in sorted((root / folder).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            if rel.startswith(("src/leerid/testing/", "tests/architecture/")):
                continue
            yield path


def harness_uses_kit(root: Path) -> list[Violation]:
    """Bench, demo and tests use ``leerid.testing``: no own form parser or server starter."""
    found: list[Violation] = []
    for path in _kit_files(root):
        rel = path.relative_to(root).as_posix()
        tree = _parse(path)
        for line, what in _form_parsers(tree):
            found.append(
                Violation(
                    "one-kit",
                    rel,
                    line,
                    f"{what}: use the one parser of leerid.testing (the scripted browser).",
                )
            )
        if not rel.startswith("src/") or rel == "src/leerid/demo.py":
            found += [
                Violation(
                    "one-kit",
                    rel,
                    line,
                    "starts its own uvicorn server: use the server starter of leerid.testing.",
                )
                for line in _uvicorn_imports(tree)
            ]
        if rel in KIT_USERS and not _imports_kit(tree):
            found.append(
                Violation(
                    "one-kit",
                    rel,
                    1,
                    "a harness that does not import leerid.testing: seed, start servers and "
                    "browse with the kit instead of a copy of it.",
                )
            )
    return found


def _uvicorn_imports(tree: ast.Module) -> Iterator[int]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        if any(_within(n, "uvicorn") for n in names):
            yield node.lineno


def _imports_kit(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(_within(a.name, KIT) for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.level == 0:
            module = node.module or ""
            if _within(module, KIT) or (
                module == PACKAGE and any(a.name == "testing" for a in node.names)
            ):
                return True
    return False
