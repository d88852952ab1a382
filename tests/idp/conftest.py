"""One running provider per module and backend (starting a server costs a second or two)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import BACKENDS, fresh_database
from tests.idp_server import RunningIdp, running_idp


@pytest.fixture(scope="module", params=BACKENDS)
def module_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh database for a whole test module, on each configured backend."""
    with fresh_database(request.param, tmp_path_factory.mktemp("idp")) as url:
        yield url


@pytest.fixture(scope="module")
def idp(module_database_url: str) -> Iterator[RunningIdp]:
    """A seeded provider running on the module's database."""
    with running_idp(module_database_url) as running:
        yield running
