"""`make test` installs what the browser tests need (issue 8, point 17): Chromium, axe-core;
and the relying parties of the interop tests (issue 14, point 5): Debian's Apache with
mod_auth_openidc, and npm's openid-client as its lock file pins it.

The install branches are checked with `make -n` and paths that do not exist, so that no
package is installed or removed on the machine running the tests.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MISSING = "/nonexistent/leerid-test/chromium"
MISSING_MODULE = "/nonexistent/leerid-test/mod_auth_openidc.so"
PRESENT = "OIDC_MODULE=/bin/sh"  # as if mod_auth_openidc were installed


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
    plan = make("-n", "test", f"CHROMIUM={MISSING}", "USER_ID=0", PRESENT)
    assert plan.returncode == 0, plan.stderr
    lines = plan.stdout.splitlines()
    update = next(i for i, line in enumerate(lines) if "apt-get update" in line)
    install = next(i for i, line in enumerate(lines) if "apt-get install -y" in line)
    pytest_line = next(i for i, line in enumerate(lines) if "-m pytest" in line)
    assert update < install < pytest_line  # installed before the tests run
    assert lines[install].rstrip().endswith(" chromium")


def test_make_test_leaves_an_installed_chromium_alone() -> None:
    plan = make("-n", "test", "CHROMIUM=/bin/sh", "USER_ID=0", PRESENT)
    assert plan.returncode == 0, plan.stderr
    assert "apt-get" not in plan.stdout


def test_without_root_make_test_says_in_one_line_what_to_install() -> None:
    result = make("test-deps", f"CHROMIUM={MISSING}", "USER_ID=1000", PRESENT)
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
    plan = make("-n", "test", "CHROMIUM=/bin/sh", PRESENT, "AXE_STAMP=.leerid/node/.missing-stamp")
    assert f"axe-core@{version}" in plan.stdout and "npm install --prefix" in plan.stdout
    stamp = tmp_path / "installed"  # stamped like the venv: no second install
    stamp.touch()
    again = make("-n", "test", "CHROMIUM=/bin/sh", PRESENT, f"AXE_STAMP={stamp}")
    assert "npm install" not in again.stdout


def test_make_test_installs_apache_and_mod_auth_openidc_as_root_when_missing() -> None:
    plan = make("-n", "test", "CHROMIUM=/bin/sh", f"OIDC_MODULE={MISSING_MODULE}", "USER_ID=0")
    assert plan.returncode == 0, plan.stderr
    lines = plan.stdout.splitlines()
    install = next(i for i, line in enumerate(lines) if "apt-get install -y" in line)
    pytest_line = next(i for i, line in enumerate(lines) if "-m pytest" in line)
    assert "apt-get update" in lines[install - 1] and install < pytest_line
    assert lines[install].rstrip().endswith(" apache2 libapache2-mod-auth-openidc")


def test_without_root_make_test_says_how_to_install_mod_auth_openidc() -> None:
    result = make("test-deps", "CHROMIUM=/bin/sh", f"OIDC_MODULE={MISSING_MODULE}", "USER_ID=1000")
    assert result.returncode != 0
    ours = [line for line in result.stderr.splitlines() if line.startswith("make test:")]
    assert len(ours) == 1 and MISSING_MODULE in ours[0]
    assert "apt-get install apache2 libapache2-mod-auth-openidc" in ours[0]
    assert "apt-get" not in result.stdout  # nothing was attempted


def test_make_test_installs_openid_client_from_its_lock_file_once(tmp_path: Path) -> None:
    lock = json.loads((ROOT / "tests/interop/node/package-lock.json").read_text(encoding="utf-8"))
    pinned = json.loads((ROOT / "tests/interop/node/package.json").read_text(encoding="utf-8"))
    version = pinned["dependencies"]["openid-client"]
    assert version.count(".") == 2 and version.replace(".", "").isdigit()  # an exact version
    assert lock["packages"]["node_modules/openid-client"]["version"] == version
    missing = "INTEROP_STAMP=.leerid/interop-node/.missing-stamp"
    plan = make("-n", "test", "CHROMIUM=/bin/sh", PRESENT, missing)
    assert "npm ci --prefix .leerid/interop-node" in plan.stdout  # not .leerid/node (axe-core)
    stamp = tmp_path / "installed"
    stamp.touch()
    again = make("-n", "test", "CHROMIUM=/bin/sh", PRESENT, f"INTEROP_STAMP={stamp}")
    assert "npm ci" not in again.stdout


def test_ci_does_nothing_that_make_test_does_not() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "apt-get" not in ci and "npm" not in ci
