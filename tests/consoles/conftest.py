"""The consoles' world, once per test module (on PostgreSQL when configured, else SQLite)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import BACKENDS
from tests.consoles.world import World, console_world


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with console_world(BACKENDS[-1], tmp_path_factory.mktemp("consoles")) as built:
        yield built
