"""No INSZ, name or identifier that PostgreSQL echoes in an error reaches a server's log line.

Real errors from the real PostgreSQL (a duplicate key, a failing row, a value it cannot read,
a COPY line), logged through handlers configured as uvicorn configures its own, as uvicorn
logs an exception of the app, after the provider has been built (the portal's own test is in
tests/sp/test_portal_log_privacy.py): what went wrong stays, the values are withheld. Off
PostgreSQL (SQLite names no values) those tests are skipped.
"""

from __future__ import annotations

import io
import logging
import logging.config
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from leerid.idp.app import create_app
from leerid.idp.settings import IdpSettings
from leerid.log_privacy import SERVER_LOGGERS, WITHHELD, WithholdDatabaseValues, withhold

INSZ = "85073112345"
NAME = "Verhaegen-Dupont"


@pytest.fixture
def pg(engine: Engine) -> Engine:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite's errors name no values")
    with engine.begin() as conn:
        conn.execute(
            text("CREATE TABLE pupil_copy (insz varchar(11) PRIMARY KEY, naam text NOT NULL)")
        )
        conn.execute(text("INSERT INTO pupil_copy VALUES (:i, :n)"), {"i": INSZ, "n": NAME})
    return engine


# The shape of uvicorn's own logging configuration (uvicorn.config.LOGGING_CONFIG): a handler
# on "uvicorn" (its error logger propagates to it) and one on "uvicorn.access".
def uvicorn_logging(stream: io.StringIO) -> dict[str, Any]:
    handler = {"class": "logging.StreamHandler", "stream": stream}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"default": handler, "access": dict(handler)},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
        },
    }


@contextmanager
def logging_as_uvicorn() -> Iterator[io.StringIO]:
    """uvicorn's logging configured onto a stream for the block, its handlers removed after."""
    stream = io.StringIO()
    logging.config.dictConfig(uvicorn_logging(stream))
    try:
        yield stream
    finally:
        for name in ("uvicorn", "uvicorn.access"):
            logger = logging.getLogger(name)
            for handler in list(logger.handlers):
                if getattr(handler, "stream", None) is stream:
                    logger.removeHandler(handler)


@pytest.fixture
def server_log(database_url: str) -> Iterator[io.StringIO]:
    """uvicorn's logging configured, then the provider built on it (as a worker does)."""
    with logging_as_uvicorn() as stream:
        create_app(IdpSettings(database_url=database_url))
        yield stream


def database_error(engine: Engine, statement: str, params: dict[str, str]) -> DBAPIError:
    with engine.connect() as conn:
        try:
            conn.execute(text(statement), params)
        except DBAPIError as exc:
            return exc
    raise AssertionError(f"{statement} did not fail")


CASES = {
    "duplicate key": ("INSERT INTO pupil_copy VALUES (:i, :n)", "violates unique constraint"),
    "failing row": (
        "INSERT INTO pupil_copy VALUES (left(:i, 10) || '0', CAST(NULL AS text) || :n)",
        "not-null constraint",
    ),
    "value it cannot read": ("SELECT CAST(:i || :n AS uuid)", "invalid input syntax for type uuid"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_exception_logged_by_uvicorn_keeps_the_reason_and_withholds_the_values(
    pg: Engine, server_log: io.StringIO, case: str
) -> None:
    statement, reason = CASES[case]
    error = database_error(pg, statement, {"i": INSZ, "n": NAME})
    assert INSZ[:10] in str(error) or NAME in str(error)  # what PostgreSQL says, unfiltered
    logging.getLogger("uvicorn.error").error("Exception in ASGI application\n", exc_info=error)
    line = server_log.getvalue()
    assert reason in line
    assert INSZ[:10] not in line and NAME not in line


def test_a_copy_line_is_withheld_from_a_message(pg: Engine, server_log: io.StringIO) -> None:
    """A message of ours that quotes the driver's error (COPY names the field's value)."""
    raw = pg.raw_connection()
    try:
        driver = raw.driver_connection
        assert isinstance(driver, psycopg.Connection)
        copy_in = "COPY pupil_copy (insz, naam) FROM STDIN"
        with (
            pytest.raises(psycopg.Error) as caught,
            driver.cursor() as cursor,
            cursor.copy(copy_in) as copy,
        ):
            copy.write(f"{INSZ}0000\t{NAME}\n")
    finally:
        raw.close()
    assert INSZ in str(caught.value)
    logging.getLogger("uvicorn.error").warning("the import stopped: %s", caught.value)
    line = server_log.getvalue()
    assert "value too long" in line and "CONTEXT:" in line
    assert INSZ not in line and NAME not in line


def test_the_provider_puts_the_filter_on_every_handler_of_the_servers_loggers(
    server_log: io.StringIO,
) -> None:
    handlers = [h for name in SERVER_LOGGERS for h in logging.getLogger(name).handlers]
    assert handlers
    for handler in handlers:
        assert any(isinstance(f, WithholdDatabaseValues) for f in handler.filters), handler


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=40))
def test_detail_and_context_lines_never_pass_a_value(value: str) -> None:
    text_ = (
        'ERROR:  duplicate key value violates unique constraint "uq_pupil_insz"\n'
        f"DETAIL:  Key (insz)=({value}) already exists.\n"
        f'CONTEXT:  COPY pupil, line 3, column insz: "{value}"\n'
        f'invalid input syntax for type uuid: "{value}"'
    )
    kept = withhold(text_)
    assert kept.count(WITHHELD) == 3
    assert 'violates unique constraint "uq_pupil_insz"' in kept
    assert kept.splitlines()[1:] == [
        f"DETAIL:  {WITHHELD}",
        f"CONTEXT:  {WITHHELD}",
        f'invalid input syntax for type uuid: "{WITHHELD}"',
    ]


def test_lines_without_database_details_pass_unchanged(tmp_path: Path) -> None:
    line = "GET /op/authorize 302; the registry holds 12 pupils"
    assert withhold(line) == line
