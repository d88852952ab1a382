"""`leerid sp …` finds its configuration without --config (issue 8, point 18)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from leerid.errors import ConfigurationError
from leerid.sp.kit.settings import find_config


@pytest.fixture
def place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LEERID_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LEERID_SP_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_order_is_option_environment_local_file_then_the_demo(
    place: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = place / "home" / "demo" / "lars" / "lars.toml"
    demo.parent.mkdir(parents=True)
    demo.write_text("", encoding="utf-8")
    assert find_config(None) == (demo, "the demo's")
    (place / "lars.toml").write_text("", encoding="utf-8")
    assert find_config(None) == (Path("lars.toml"), "./lars.toml")
    monkeypatch.setenv("LEERID_SP_CONFIG", "elders.toml")
    assert find_config(None) == (Path("elders.toml"), "$LEERID_SP_CONFIG")
    assert find_config(Path("x.toml")) == (Path("x.toml"), "--config")


def test_without_any_configuration_the_error_says_where_it_looked(place: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        find_config(None)
    message = caught.value.message
    for where in ("--config", "$LEERID_SP_CONFIG", "lars.toml", "leerid demo", "examples/"):
        assert where in message
    assert str(place / "home" / "demo" / "lars" / "lars.toml") in message


def test_the_command_says_on_stderr_which_configuration_it_used(tmp_path: Path) -> None:
    from tests.sp.conftest import write_config

    config = write_config(tmp_path / "sp", f"sqlite:///{tmp_path / 'lars.db'}")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LEERID_")},
        "LEERID_HOME": str(tmp_path / "home"),
    }
    # --create: the kit's database does not exist yet, and `log verify` only reads (§4)
    leerid = [sys.executable, "-m", "leerid.cli.main", "--create", "sp", "log", "verify"]
    missing = subprocess.run(
        leerid, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert missing.returncode == 2 and "no configuration found" in missing.stderr
    assert "Traceback" not in missing.stderr
    found = subprocess.run(
        leerid, cwd=config.parent, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert found.returncode == 0, found.stderr
    assert "privacy log intact" in found.stdout
    assert found.stderr.strip() == f"configuration {config.resolve()} (./lars.toml)"
