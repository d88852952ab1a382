"""The `leerid protocol` commands, run as a user runs them."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from tests.conftest import run_leerid
from tests.protocol.helpers import SEED_YAML

SEED = str(SEED_YAML)


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["LEERID_HOME"] = str(tmp_path / "home")
    env["LEERID_DATABASE_URL"] = f"sqlite:///{tmp_path / 'unused.db'}"
    env["COLUMNS"] = "200"
    return env


def test_check_seed_warns_and_exits_0(tmp_path: Path) -> None:
    result = run_leerid(["protocol", "check", SEED], _env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "warning:" in result.stdout and "decretal_basis.present" in result.stdout
    assert "Stefan Griens" in result.stdout
    assert "ok:" in result.stdout and "status in_force" in result.stdout


def test_check_before_entry_into_force(tmp_path: Path) -> None:
    result = run_leerid(["protocol", "check", SEED, "--at", "2024-03-01"], _env(tmp_path))
    assert result.returncode == 0
    assert "status signed" in result.stdout and "not in force on 2024-03-01" in result.stdout


def test_check_broken_files_exit_1_without_traceback(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: x\n  version: [1\n", encoding="utf-8")
    invalid = tmp_path / "invalid.yaml"
    text = SEED_YAML.read_text(encoding="utf-8")
    invalid.write_text(text.replace('"0473.721.472"', '"0473.721.473"'), encoding="utf-8")
    result = run_leerid(["protocol", "check", str(broken), str(invalid), SEED], _env(tmp_path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert f"{broken}:2: <file>: not valid YAML" in result.stderr
    line = next(i for i, s in enumerate(text.splitlines(), 1) if '"0473.721.472"' in s)
    assert f"{invalid}:{line}: parties.recipient.enterprise_number:" in result.stderr
    assert "ok:" in result.stdout  # the good file is still reported


def test_render_html_and_md_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "site" / "protocol.html"
    result = run_leerid(
        ["protocol", "render", SEED, "--format", "html", "--out", str(out)], _env(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "Artikel 11" in page
    result = run_leerid(["protocol", "render", SEED, "--format", "md"], _env(tmp_path))
    assert result.returncode == 0 and result.stdout.startswith("# PROTOCOL VOOR")
    result = run_leerid(["protocol", "render", SEED, "--format", "pdf"], _env(tmp_path))
    assert result.returncode != 0 and "Traceback" not in result.stderr


def test_register_from_a_directory(tmp_path: Path) -> None:
    folder = tmp_path / "protocols"
    folder.mkdir()
    shutil.copy(SEED_YAML, folder / "dov-lars-glce-2024.yaml")
    result = run_leerid(["protocol", "register", str(folder), "--format", "json"], _env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["records"][0]["protocol_id"] == "dov-lars-glce-2024"
    empty = tmp_path / "empty"
    empty.mkdir()
    result = run_leerid(["protocol", "register", str(empty)], _env(tmp_path))
    assert result.returncode == 1 and "no protocol files" in result.stderr


def test_add_and_list_versions(leerid_env: dict[str, str], tmp_path: Path) -> None:
    assert run_leerid(["db", "upgrade"], leerid_env).returncode == 0  # reads never create it
    result = run_leerid(["protocol", "list"], leerid_env)
    assert result.returncode == 0 and "no protocols stored" in result.stdout
    result = run_leerid(["protocol", "add", SEED], leerid_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("added: dov-lars-glce-2024 version 1, sha256 ")
    again = run_leerid(["protocol", "add", SEED], leerid_env)
    assert again.stdout.startswith("unchanged: dov-lars-glce-2024 version 1")
    for party, signer, day in (
        ("recipient", "Stefan Grielens", "2024-02-29"),
        ("dov", "Ann Verhaegen", "2024-03-25"),
    ):  # art. 11
        attest = ["protocol", "attest", "dov-lars-glce-2024", "--version", "1", "--party", party]
        attest += ["--signer", signer, "--signed-at", day, "--document-sha256", "ab" * 32]
        result = run_leerid([*attest, "--operator", "test"], leerid_env)
        assert result.returncode == 0, result.stderr

    changed = tmp_path / "changed.yaml"
    changed.write_text(
        SEED_YAML.read_text(encoding="utf-8").replace(
            "status_changes: []",
            "status_changes:\n  - kind: terminated\n    effective: 2025-06-30T17:00:00+02:00\n"
            "    reason: Eenzijdige beëindiging door DOV (art. 8)\n    by: discloser\n",
        ),
        encoding="utf-8",
    )
    result = run_leerid(["protocol", "add", str(changed)], leerid_env)
    assert result.stdout.startswith("added: dov-lars-glce-2024 version 2")

    listed = run_leerid(["protocol", "list", "--at", "2025-07-01"], leerid_env)
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()[1:]]
    assert [(r[0], r[1], r[3]) for r in rows] == [
        ("dov-lars-glce-2024", "1", "in_force"),
        ("dov-lars-glce-2024", "2", "terminated"),
    ]
    assert all(len(r[2]) == 64 for r in rows)
