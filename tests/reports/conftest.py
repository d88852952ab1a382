"""One running provider per module and backend, with a second client that received nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from leerid.store.engine import make_engine
from leerid.testing import seeding
from tests.conftest import BACKENDS, fresh_database
from tests.idp_server import REDIRECT_URI, RunningIdp, running_idp
from tests.reports.helpers import log_in
from tests.sp.conftest import provider, sp_config  # noqa: F401 - the kit's fixtures
from tests.sp.test_breaches_mail import smtp  # noqa: F401 - an SMTP server on loopback


@dataclass
class Dov:
    idp: RunningIdp
    other_id: str  # a client that never received the pupil's data
    other_secret: str


@pytest.fixture(scope="module", params=BACKENDS)
def module_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with fresh_database(request.param, tmp_path_factory.mktemp("reports")) as url:
        yield url


@pytest.fixture(scope="module")
def dov(module_database_url: str) -> Iterator[Dov]:
    """The provider; its pupil logged in once through its client (a released disclosure)."""
    with running_idp(module_database_url) as idp:
        engine = make_engine(module_database_url)
        other_id, other_secret = seeding.register_client(
            engine, protocol_id=idp.seed.protocol_id, redirect_uris=[REDIRECT_URI], name="Ander"
        )
        engine.dispose()
        log_in(idp.issuer, idp.client_id, idp.client_secret, idp.username, idp.password)
        yield Dov(idp, other_id, other_secret)
