"""Issue 8 point 23: ``staff list`` and ``reports list`` print whole identifiers in a pipe.

CliRunner's standard output is not a terminal, as in ``leerid sp staff list | grep``;
COLUMNS is set narrow, as a terminal of 80 columns would leave it for a child process.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leerid.cli.main import app
from leerid.idp.store.quality_reports import store_report
from leerid.schema import get_engine
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.settings import load_settings
from leerid.sp.kit.staff import add_staff
from leerid.store.engine import dispose_engines
from tests.sp.conftest import write_config

LONG_NAME = "clb.medewerker.met.een.heel.lange.gebruikersnaam.voor.de.test"


def test_staff_list_in_a_pipe_is_not_cut(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path / "sp", database_url)
    provider = ServiceProvider(load_settings(config))
    add_staff(provider.engine, provider.protocol, LONG_NAME, "een-lang-wachtwoord", "dpo")
    provider.engine.dispose()
    monkeypatch.setenv("COLUMNS", "60")
    result = CliRunner().invoke(app, ["sp", "staff", "list", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert LONG_NAME in result.output and "…" not in result.output


def test_reports_list_in_a_pipe_is_not_cut(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pupil = str(uuid.uuid4())
    comment = "De familienaam is verkeerd gespeld in DISCIMUS sinds de inschrijving in september"
    store_report(get_engine(database_url), "lars-client", pupil, "family_name", "foutief", comment)
    dispose_engines()
    monkeypatch.setenv("LEERID_DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "60")
    result = CliRunner().invoke(app, ["reports", "list"])
    assert result.exit_code == 0, result.output
    assert pupil in result.output and comment in result.output and "…" not in result.output
