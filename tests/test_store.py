"""The database is created and migrated on first use, on every backend."""

from __future__ import annotations

from sqlalchemy import inspect

from leerid.schema import get_engine, is_current
from tests.conftest import run_leerid


def test_first_use_creates_and_migrates(database_url: str) -> None:
    engine = get_engine(database_url)
    assert is_current(engine)
    assert {"pupil", "registration", "enrolment", "account"} <= set(
        inspect(engine).get_table_names()
    )


def test_db_upgrade_command(leerid_env: dict[str, str]) -> None:
    result = run_leerid(["db", "upgrade"], leerid_env)
    assert result.returncode == 0, result.stderr
    assert "schema at heads" in result.stdout


def test_unreachable_database_is_a_clear_error(leerid_env: dict[str, str]) -> None:
    leerid_env["LEERID_DATABASE_URL"] = "postgresql+psycopg://postgres@127.0.0.1:1/none"
    result = run_leerid(["db", "upgrade"], leerid_env)
    assert result.returncode == 2
    assert "cannot reach the database" in result.stderr
    assert "Traceback" not in result.stderr


def test_database_errors_never_show_the_values(database_url: str) -> None:
    """No INSZ or name reaches a log through an error message."""
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    engine = get_engine(database_url)
    with pytest.raises(DBAPIError) as failed, engine.begin() as conn:
        conn.execute(text("INSERT INTO no_such_table VALUES (:insz)"), {"insz": "00091501119"})
    assert "00091501119" not in str(failed.value)
