"""Each checker catches a synthetic tree that breaks its rule (a checker that cannot fail fails)."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from tests.architecture import checker
from tests.architecture.checker import Module, Violation


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        for folder in path.relative_to(root).parents:
            if folder.parts[:2] == ("src", "leerid"):
                (root / folder / "__init__.py").touch()
        path.write_text(dedent(text), encoding="utf-8")


def _package(root: Path, files: dict[str, str]) -> dict[str, Module]:
    """A synthetic ``src/leerid`` holding ``files`` (paths under src/leerid/)."""
    _write(root, {f"src/leerid/{rel}": text for rel, text in files.items()})
    return checker.load_package(root / "src", root)


def _places(violations: list[Violation]) -> set[tuple[str, int, str]]:
    return {(v.path, v.line, v.rule) for v in violations}


BOUNDARY_CASES = {
    "protocol-pure": (
        {
            "errors.py": "",
            "csv_safe.py": "",
            "edge.py": "",
            "protocol/model.py": "from leerid.errors import LeeridError\nfrom . import rules\n",
            "protocol/register.py": "from leerid.csv_safe import SafeWriter\n",
            "protocol/rules.py": "import json\n\ndef f():\n    from leerid import edge\n",
            "protocol/late.py": "import importlib\nimportlib.import_module('leerid.edge')\n",
        },
        {("protocol/rules.py", 4), ("protocol/late.py", 2)},
    ),
    "transparency-pure": (  # the two leaves are allowed; the log's storage is not
        {
            "transparency/entries.py": "from leerid.insz_text import looks_like_insz\n",
            "transparency/tiles.py": "from leerid.errors import LeeridError\nimport sqlalchemy\n",
            "transparency/note.py": "from leerid.idp.store.tlog import tables\n",
        },
        {("transparency/tiles.py", 2), ("transparency/note.py", 1)},
    ),
    "duties-shared": (  # shared by both parties: neither party's code, the store allowed
        {
            "duties/hash_chain.py": "from leerid.errors import LeeridError\n",
            "duties/breach_register.py": "from leerid.store.engine import x\n",
            "duties/mail.py": "from leerid.sp.kit import settings\n",
            "duties/clock.py": "def f():\n    from leerid.idp.store import models\n",
        },
        {("duties/mail.py", 1), ("duties/clock.py", 2)},
    ),
    "console-no-sql": (
        {
            "idp/console/guard.py": "from sqlalchemy import select\n",
            "idp/console/pages.py": "from leerid.idp.store.console import staff\n",
        },
        {("idp/console/guard.py", 1)},
    ),
    "store-no-domain": (  # a relative import is resolved before it is judged
        {
            "store/base.py": "import sqlalchemy\nfrom ..idp import models\n",
            "store/engine.py": "from leerid.store.base import Base\n",
            "idp/models.py": "",
        },
        {("store/base.py", 2)},
    ),
    "sp-apart": (
        {
            "sp/kit/rp.py": "import leerid.registry.models\nfrom leerid.errors import X\n",
            "sp/portal/app.py": "from leerid.idp.oauth import errors\n",
        },
        {("sp/kit/rp.py", 1), ("sp/portal/app.py", 1)},
    ),
    "oauth-no-io": (  # an import inside a function counts too
        {
            "idp/oauth/code_exchange.py": "import hashlib\n\ndef f():\n    import httpx\n",
            "idp/oauth/errors.py": "from starlette.responses import JSONResponse\n",
            "idp/release.py": "from sqlalchemy.orm import Session\n",
            "idp/web/token.py": "import httpx\n",
        },
        {("idp/oauth/code_exchange.py", 4), ("idp/oauth/errors.py", 1), ("idp/release.py", 1)},
    ),
    "web-no-sql": (  # even for type hints: a handler talks to the store interface
        {
            "idp/web/token.py": (
                "from typing import TYPE_CHECKING\nimport fastapi\n"
                "if TYPE_CHECKING:\n    from sqlalchemy import Connection\n"
            ),
            "idp/store/grants.py": "import sqlalchemy\n",
        },
        {("idp/web/token.py", 4)},
    ),
}


def test_every_boundary_has_a_case() -> None:
    assert set(BOUNDARY_CASES) == {b.rule for b in checker.BOUNDARIES}


@pytest.mark.parametrize("rule", sorted(BOUNDARY_CASES))
def test_a_crossed_boundary_is_caught(rule: str, tmp_path: Path) -> None:
    files, expected = BOUNDARY_CASES[rule]
    found = checker.boundary(rule).check(_package(tmp_path, files))
    assert _places(found) == {(f"src/leerid/{path}", line, rule) for path, line in expected}
    assert all("off limits" in str(v) for v in found)


def test_a_cycle_through_a_function_level_import_is_caught_and_shown(tmp_path: Path) -> None:
    modules = _package(
        tmp_path,
        {
            "a.py": "from leerid import b\n",
            "b.py": "import json\n\n\ndef later():\n    from .c import x\n",
            "c.py": "from leerid.a import y\n",
            "d.py": "from leerid import a\n",
        },
    )
    found = checker.no_cycles(modules)
    assert len(found) == 1
    text = str(found[0])
    assert "3 modules" in text
    assert "src/leerid/a.py:1 -> src/leerid/b.py:5 -> src/leerid/c.py:1 -> src/leerid/a.py" in text
    assert "src/leerid/d.py" not in text


def test_a_type_checking_import_makes_no_cycle(tmp_path: Path) -> None:
    modules = _package(
        tmp_path,
        {
            "a.py": "from leerid import b\n",
            "b.py": "import typing\nif typing.TYPE_CHECKING:\n    from leerid.a import A\n",
        },
    )
    assert checker.no_cycles(modules) == []
    modules = _package(tmp_path, {"b.py": "from leerid.a import A\n"})
    assert len(checker.no_cycles(modules)) == 1


def test_a_package_init_and_its_module_make_a_cycle(tmp_path: Path) -> None:
    modules = _package(
        tmp_path,
        {
            "idp/__init__.py": "from leerid.idp.app import create_app\n",
            "idp/app.py": "from leerid.idp import helpers\nfrom leerid.idp import VERSION\n",
            "idp/helpers.py": "",
        },
    )
    assert _places(checker.no_cycles(modules)) == {("src/leerid/idp/__init__.py", 1, "no-cycles")}


def test_long_modules_and_functions_are_caught_but_migrations_are_exempt(tmp_path: Path) -> None:
    long_function = "def f():\n" + "    x = 1\n" * 60  # 61 lines
    fine_function = "async def g():\n" + "    x = 1\n" * 59  # 60 lines
    modules = _package(
        tmp_path,
        {
            "big.py": "x = 1\n" * 401,
            "small.py": "x = 1\n" * 400,
            "funcs.py": "\n"
            + fine_function
            + "\n\nclass C:\n    "
            + long_function.replace("\n    ", "\n        "),
            "idp/migrations/versions/0003_idp.py": "x = 1\n" * 500 + long_function,
        },
    )
    found = checker.sizes(modules)
    assert _places(found) == {
        ("src/leerid/big.py", 1, "module-size"),
        ("src/leerid/funcs.py", 65, "function-size"),
    }
    assert any("f is 61 lines" in str(v) for v in found)


def test_environment_read_outside_settings_or_at_import_time_is_caught(tmp_path: Path) -> None:
    modules = _package(
        tmp_path,
        {
            "config.py": "import os\n\ndef home():\n    return os.environ.get('LEERID_HOME')\n",
            "idp/settings.py": "import os\nISSUER = os.getenv('LEERID_ISSUER')\n",
            "idp/context.py": "import os\n\ndef f():\n    return os.environ['X']\n",
            "idp/throttle.py": "from os import environ\n",
            "sp/kit/settings.py": "import os\n\ndef load():\n    return dict(os.environ)\n",
            "demo.py": "import os\nprint(os.sep)\n",
            "cli/idp.py": """\
                import os, subprocess
                def serve(level):
                    os.environ["LEERID_LOG_LEVEL"] = level  # for the workers: a write
                    os.environ.update(A="1")
                    subprocess.run(["x"], env={**os.environ, "B": "2"})
                    subprocess.run(["x"], env=dict(os.environ))
                    subprocess.run(["x"], env=os.environ)
                    os.environ.setdefault("C", "3")  # keeps the operator's value: a read
                    return "LEERID_HOME" in os.environ
            """,
        },
    )
    found = checker.environment_in_settings(modules)
    assert _places(found) == {
        ("src/leerid/idp/settings.py", 2, "environment"),
        ("src/leerid/idp/context.py", 4, "environment"),
        ("src/leerid/idp/throttle.py", 1, "environment"),
        ("src/leerid/cli/idp.py", 8, "environment"),
        ("src/leerid/cli/idp.py", 9, "environment"),
    }
    assert any("import time" in str(v) for v in found)


def test_copies_of_the_kit_are_caught(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "src/leerid/demo.py": """\
                from html.parser import HTMLParser
                class _Form(HTMLParser):
                    def handle_starttag(self, tag, attrs):
                        if tag == "input":
                            pass
            """,
            "src/leerid/testing/browser.py": """\
                import re
                _HIDDEN = re.compile(r'<input type="hidden" name="(\\w+)" value="([^"]*)">')
            """,
            "bench/login_flow.py": "import uvicorn\nfrom leerid.testing import seeding\n",
            "bench/sp_retention.py": "import leerid.testing.servers\n",
            "tests/sp/lars_world.py": """\
                import re
                def hidden(page, name):
                    return re.search(rf'name="{name}" value="([^"]*)"', page)
            """,
            "tests/protocol/test_render.py": """\
                from html.parser import HTMLParser
                class _Text(HTMLParser):
                    BLOCKS = {"p", "li"}
            """,
            "tests/idp/flow.py": "from leerid import testing\n",
        },
    )
    assert _places(checker.harness_uses_kit(tmp_path)) == {
        ("src/leerid/demo.py", 2, "one-kit"),
        ("src/leerid/demo.py", 1, "one-kit"),  # does not import leerid.testing
        ("bench/login_flow.py", 1, "one-kit"),  # uvicorn
        ("tests/sp/lars_world.py", 3, "one-kit"),
        ("tests/sp/lars_world.py", 1, "one-kit"),  # does not import leerid.testing
    }
