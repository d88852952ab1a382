"""`make test` installs what the browser tests need (issue 8, point 17): Chromium, axe-core.

The install branch is checked with `make -n` and a Chromium path that does not exist, so that
no package is installed or removed on the machine running the tests.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MISSING = "/nonexistent/leerid-test/chromium"


def make(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_make_test_installs_chromium_as_root_when_it_is_missing() -> None:
    plan = make("-n", "test", f"CHROMIUM={MISSING}", "USER_ID=0")
    assert plan.returncode == 0, plan.stderr
    lines = plan.stdout.splitlines()
    update = next(i for i, line in enumerate(lines) if "apt-get update" in line)
    install = next(i for i, line in enumerate(lines) if "apt-get install -y" in line)
    pytest_line = next(i for i, line in enumerate(lines) if "-m pytest" in line)
    assert update < install < pytest_line  # installed before the tests run
    assert lines[install].rstrip().endswith(" chromium")


def test_make_test_leaves_an_installed_chromium_alone() -> None:
    plan = make("-n", "test", "CHROMIUM=/bin/sh", "USER_ID=0")
    assert plan.returncode == 0, plan.stderr
    assert "apt-get" not in plan.stdout


def test_without_root_make_test_says_in_one_line_what_to_install() -> None:
    result = make("test-deps", f"CHROMIUM={MISSING}", "USER_ID=1000")
    assert result.returncode != 0
    ours = [line for line in result.stderr.splitlines() if line.startswith("make test:")]
    assert len(ours) == 1
    assert MISSING in ours[0] and "apt-get install chromium" in ours[0]
    assert "apt-get" not in result.stdout  # nothing was attempted


def test_make_test_installs_a_pinned_axe_core_once(tmp_path: Path) -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    version = next(
        line.split(":=")[1].strip()
        for line in makefile.splitlines()
        if line.startswith("AXE_VERSION")
    )
    assert version.count(".") == 2 and version.replace(".", "").isdigit()  # an exact version
    plan = make("-n", "test", "CHROMIUM=/bin/sh", "AXE_STAMP=.leerid/node/.missing-stamp")
    assert f"axe-core@{version}" in plan.stdout and "npm install --prefix" in plan.stdout
    stamp = tmp_path / "installed"  # stamped like the venv: no second install
    stamp.touch()
    again = make("-n", "test", "CHROMIUM=/bin/sh", f"AXE_STAMP={stamp}")
    assert "npm install" not in again.stdout


def test_ci_does_nothing_that_make_test_does_not() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "apt-get" not in ci and "npm" not in ci
