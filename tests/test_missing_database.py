"""Issue 8 §4 and §13: read commands on a missing database, and a malformed database URL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from leerid.testing.servers import free_port
from tests.conftest import Leerid, run_leerid
from tests.sp.conftest import write_config

# Commands that only read: on a missing database they exit 2 and create nothing (§4).
READS = [
    ["registry", "stats"],
    ["registry", "show", "--referte", "R1"],
    ["disclosures", "list", "--leerid-uuid", "00000000-0000-0000-0000-000000000000"],
    ["protocol", "list"],
    ["reports", "list"],
    ["clients", "list"],
    ["idp", "purge", "--dry-run"],
]
SP_READS = [["sp", "log", "verify"], ["sp", "staff", "list"], ["sp", "breaches", "list"]]


def test_read_commands_on_a_missing_database_exit_2_and_create_nothing(
    tmp_path: Path, typo_env: dict[str, str], leerid: Leerid
) -> None:
    missing = tmp_path / "leerdi.db"
    lars = write_config(tmp_path / "lars", f"sqlite:///{tmp_path / 'lars-typo.db'}")
    for args in [*READS, *[[*a, "--config", str(lars)] for a in SP_READS]]:
        status, err = leerid(args, typo_env)
        assert status == 2, (args, err)
        assert "no database at" in err and "leerid db upgrade" in err, err
        assert "leerdi.db" in err or "lars-typo.db" in err
    assert not missing.exists() and not (tmp_path / "lars-typo.db").exists()
    # as a user sees it, in a process of its own
    result = run_leerid(["registry", "stats"], {**os.environ, **typo_env})
    assert result.returncode == 2 and "no database at" in result.stderr
    assert "Traceback" not in result.stderr and not missing.exists()
    # `leerid --create` lets a read create it; the flag holds for that command only
    created = tmp_path / "created.db"
    asked = {**typo_env, "LEERID_DATABASE_URL": f"sqlite:///{created}"}
    assert leerid(["--create", "registry", "stats"], asked)[0] == 0 and created.is_file()
    assert leerid(["protocol", "list"], typo_env)[0] == 2 and not missing.exists()
    # a command that writes creates it; then reads work
    assert leerid(["db", "upgrade"], typo_env)[0] == 0
    assert leerid(["registry", "stats"], typo_env)[0] == 0


@pytest.mark.parametrize(
    "url",
    ["postgresql+psycopg://leerid@db.example:54x2/leerid", "not a url", "sqlite//no-colon"],
)
def test_a_malformed_database_url_exits_2_with_a_message(
    tmp_path: Path, url: str, leerid: Leerid
) -> None:
    env = {"LEERID_HOME": str(tmp_path), "LEERID_DATABASE_URL": url}
    for args in (["registry", "stats"], ["idp", "serve", "--port", str(free_port())]):
        status, err = leerid(args, env)
        assert status == 2, (args, err)
        assert "database URL" in err and "Traceback" not in err
