"""Unit or live: each test is classed by what it needs, and a unit-only run forbids the rest.

A test is **live** when it carries ``@pytest.mark.live``, when its fixture closure holds a
fixture of ``LIVE_FIXTURES`` (a database, a server, a browser, a mail server, a port), or
when its code (or the code of a fixture or helper of its own module that it uses) reaches
for something of ``LIVE_MODULES`` (the server starters, the browsers, the database engine,
subprocesses, sockets). Every other test is **unit** and gets the ``unit`` marker, so
``pytest -m unit`` (``make test-unit``) or ``pytest -m "not live"`` selects the fast ones.

When every selected test is a unit test, a guard runs around each of them: opening a network
socket, a SQLite or PostgreSQL connection, or a subprocess makes the test FAIL with a message
saying to mark it live, so a misclassified test is caught rather than silently slow. (In a
mixed run the guard stays off: a live server thread may be serving while a unit test runs.)
"""

from __future__ import annotations

import inspect
import os
import socket
import sqlite3
import sqlite3.dbapi2
import subprocess
import types
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest

# Fixtures that give a test a database, a server, a browser or a port: such a test is live.
LIVE_FIXTURES = frozenset(
    {
        "database_url",  # a fresh database per test (SQLite file or PostgreSQL schema)
        "module_database_url",
        "engine",  # a migrated engine
        "leerid_env",  # the `leerid` command as a process, on a database
        "provider",  # the service provider on its database
        "sp_config",
        "idp",  # a running identity provider
        "fuzz_provider",  # servers of the fuzz suite
        "fuzz_portal",
        "server",
        "site",
        "lars",
        "browser",  # Chromium through Playwright
        "page",
        "smtp",  # a mail server on a port
        "busy_port",
    }
)
# Modules whose use makes a test live: servers, browsers, databases, processes, sockets.
LIVE_MODULES = (
    "leerid.testing",
    "leerid.store.engine",
    "leerid.store.runner",  # the migration runner
    "leerid.schema",  # the provider's database (registry and idp parts)
    "tests.idp_server",
    "tests.login.live_server",
    "tests.login.oidc_flow",
    "tests.idp.flow",
    "tests.sp.lars_world",
    "tests.fuzz.servers",
    "tests.registry_seed",
    "tests.axe",
    "tests.conftest",
    "sqlalchemy.engine",
    "sqlalchemy.orm.session",
    "playwright",
    "uvicorn",
    "subprocess",
    "socket",
    "sqlite3",
    "psycopg",
    "multiprocessing",
    "concurrent.futures.process",
)
ADVICE = (
    "mark it live (@pytest.mark.live, or give it a live fixture: tests/live_or_unit.py lists "
    "them), or keep the unit test free of servers, databases and processes"
)


class LiveInUnitRunError(RuntimeError):
    """A unit test reached for a socket, a database or a process."""


def _module_of(value: object) -> str:
    if isinstance(value, types.ModuleType):
        return value.__name__
    module = getattr(value, "__module__", None)
    return module if isinstance(module, str) else ""


def _is_live_module(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in LIVE_MODULES)


def _code_objects(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def _reaches_live(func: Callable[..., Any], seen: set[int]) -> bool:
    """Whether ``func`` (or a helper of its own module it names) uses a live module."""
    func = inspect.unwrap(getattr(func, "__func__", func))
    code = getattr(func, "__code__", None)
    if code is None or id(code) in seen:
        return False
    seen.add(id(code))
    namespace: dict[str, Any] = getattr(func, "__globals__", {})
    home = namespace.get("__name__", "")
    for each in _code_objects(code):
        for name in (*each.co_names, *each.co_freevars):
            if _is_live_module(name):  # a module imported inside the function
                return True
            value = namespace.get(name)
            if value is not None and _is_live(value, home, seen):
                return True
    return False


def _is_live(value: object, home: str, seen: set[int]) -> bool:
    """Whether a name a test uses is live: from a live module, or a helper reaching one."""
    if _is_live_module(_module_of(value)):
        return True
    if _module_of(value) != home:
        return False
    if inspect.isfunction(value):
        return _reaches_live(value, seen)
    if inspect.isclass(value):
        return any(_reaches_live(m, seen) for m in vars(value).values() if callable(m))
    return False


def is_live(item: pytest.Item) -> bool:
    """Whether ``item`` needs a server, a database, a browser, a process or a socket."""
    if item.get_closest_marker("live") is not None:
        return True
    names = set(getattr(item, "fixturenames", ()))
    if names & LIVE_FIXTURES:
        return True
    seen: set[int] = set()
    info = getattr(item, "_fixtureinfo", None)
    for name in names:
        for fixturedef in info.name2fixturedefs.get(name, ()) if info else ():
            module = getattr(fixturedef.func, "__module__", "")
            if module.startswith("tests") and _reaches_live(fixturedef.func, seen):
                return True
    func = getattr(item, "obj", None)
    return func is not None and _reaches_live(func, seen)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test unit or live before ``-m`` selects (hence tryfirst)."""
    for item in items:
        item.add_marker(pytest.mark.live if is_live(item) else pytest.mark.unit)


_GUARD = pytest.StashKey[bool]()
_CAUGHT = pytest.StashKey[list[str]]()


def pytest_collection_finish(session: pytest.Session) -> None:
    """The guard is on when every selected test is a unit test."""
    items = session.items
    session.config.stash[_GUARD] = bool(items) and all(
        item.get_closest_marker("live") is None for item in items
    )


@contextmanager
def _forbidden(caught: list[str]) -> Iterator[None]:
    """Sockets to the network, database connections and processes raise and are recorded."""

    def refuse(what: str) -> LiveInUnitRunError:
        caught.append(what)
        return LiveInUnitRunError(f"{what} in the unit run: {ADVICE}")

    def net(original: Callable[..., Any], verb: str) -> Callable[..., Any]:
        def guarded(sock: socket.socket, address: Any, *args: Any) -> Any:
            if sock.family == socket.AF_UNIX:
                return original(sock, address, *args)
            raise refuse(f"a socket {verb} {address!r}")

        return guarded

    def refused(what: str) -> Callable[..., Any]:
        def guarded(*args: Any, **kwargs: Any) -> Any:
            raise refuse(what)

        return guarded

    with ExitStack() as stack:
        patch = stack.enter_context(pytest.MonkeyPatch.context())
        patch.setattr(socket.socket, "connect", net(socket.socket.connect, "connect to"))
        patch.setattr(socket.socket, "connect_ex", net(socket.socket.connect_ex, "connect to"))
        patch.setattr(socket.socket, "bind", net(socket.socket.bind, "bound to"))
        patch.setattr(subprocess.Popen, "__init__", refused("a subprocess"))
        patch.setattr(os, "system", refused("a subprocess (os.system)"))
        # SQLAlchemy reaches SQLite through sqlite3.dbapi2 and PostgreSQL through psycopg's
        # module-level connect (a method bound at import): each name is replaced.
        for module in (sqlite3, sqlite3.dbapi2):
            patch.setattr(module, "connect", refused("a SQLite connection"))
        try:
            import psycopg
        except ImportError:  # pragma: no cover - PostgreSQL's driver is a dependency
            pass
        else:
            patch.setattr(psycopg, "connect", refused("a PostgreSQL connection"))
            patch.setattr(psycopg.Connection, "connect", refused("a PostgreSQL connection"))
        yield


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    """Fixtures run under the guard too (a unit fixture that opens a database is caught)."""
    return (yield from _guarded(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """The test itself under the guard."""
    return (yield from _guarded(item))


def _guarded(item: pytest.Item) -> Iterator[None]:
    if not item.config.stash.get(_GUARD, False):
        return (yield)
    caught = item.stash.setdefault(_CAUGHT, [])
    with _forbidden(caught):
        try:
            result = yield
        finally:
            if caught:
                __tracebackhide__ = True
                raise pytest.fail.Exception(
                    f"{item.nodeid} is classed unit but opened {'; '.join(caught)}: {ADVICE}",
                    pytrace=False,
                )
    return result
