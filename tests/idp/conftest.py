"""One running provider per module and backend (starting a server costs a second or two)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import BACKENDS, PG_URL, _pg_schema_url
from tests.idp_server import RunningIdp, running_idp


@pytest.fixture(scope="module", params=BACKENDS)
def module_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh database for a whole test module, on each configured backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('idp') / 'leerid.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield _pg_schema_url(schema)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="module")
def idp(module_database_url: str) -> Iterator[RunningIdp]:
    """A seeded provider running on the module's database."""
    with running_idp(module_database_url) as running:
        yield running
