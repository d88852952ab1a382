"""The fuzz suite's servers: one provider and one portal per backend, shared by a module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import BACKENDS, fresh_database
from tests.fuzz.servers import PortalTarget, ProviderTarget, portal_target, provider_target


@pytest.fixture(scope="module", params=BACKENDS)
def fuzz_provider(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProviderTarget]:
    folder = tmp_path_factory.mktemp("fuzz-provider")
    with fresh_database(request.param, folder) as url, provider_target(url) as target:
        yield target


@pytest.fixture(scope="module", params=BACKENDS)
def fuzz_portal(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PortalTarget]:
    folder = tmp_path_factory.mktemp("fuzz-portal")
    with (
        fresh_database(request.param, folder, "leerid.db") as idp_url,
        fresh_database(request.param, folder, "lars.db") as lars_url,
        portal_target(idp_url, lars_url, folder) as target,
    ):
        yield target
