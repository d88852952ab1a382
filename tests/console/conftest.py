"""One running provider per module and backend, with DOV console accounts.

``op`` is an operator with both art. 6 dates, ``dpo`` a DPO, ``nieuw`` an operator whose
art. 6 dates are not recorded yet. The throttle locks an account after 4 failures, so the
throttle's test does not wait long.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from leerid.store.engine import make_engine
from leerid.testing import seeding
from leerid.testing.browser import Browser
from tests.conftest import BACKENDS, fresh_database
from tests.idp_server import RunningIdp, running_idp

PASSWORD = "een-lang-beheer-wachtwoord-7"
OPERATOR, DPO, UNDATED = "op", "dpo", "nieuw"


@dataclass(frozen=True)
class ConsoleSite:
    """The provider under test and its console's accounts."""

    idp: RunningIdp

    @property
    def base(self) -> str:
        return self.idp.base_url

    def browser(self, username: str | None = None) -> Browser:
        """A browser, logged in as ``username`` when given."""
        browser = Browser()
        if username is not None:
            answer = browser.console_login(self.base, username, PASSWORD)
            assert answer.status_code == 303, answer.text
        return browser


@pytest.fixture(scope="module", params=BACKENDS)
def module_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    with fresh_database(request.param, tmp_path_factory.mktemp("console")) as url:
        yield url


@pytest.fixture(scope="module")
def site(module_database_url: str) -> Iterator[ConsoleSite]:
    env = {"LEERID_THROTTLE_ACCOUNT_LOCK_AFTER": "4"}
    with running_idp(module_database_url, more_env=env) as idp:
        engine = make_engine(module_database_url)
        seeding.add_console_staff(engine, OPERATOR, PASSWORD, "operator")
        seeding.add_console_staff(engine, DPO, PASSWORD, "dpo")
        seeding.add_console_staff(engine, UNDATED, PASSWORD, "operator", dated=False)
        engine.dispose()
        yield ConsoleSite(idp)
