"""One LeerID provider per module for the relying parties that are not ours (issue 14, point 5).

A pupil is seeded through the importer and an activation code, the seed protocol is stored,
and ``register`` adds a client in either profile (``strict`` or ``acm``) with the redirect
URI the relying party under test uses. The provider caches nothing (``LEERID_CACHE_SECONDS=0``)
so a client registered during a test is known at once. These tests start processes and do
not depend on the backend: they run on SQLite only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from leerid.store.engine import make_engine
from leerid.testing import seeding
from leerid.testing.browser import Browser, forms
from tests.conftest import BACKENDS, fresh_database
from tests.idp_server import IdpProcess, SeededPupil, seed_pupil, start_idp, store_protocol

PROFILES = ["strict", "acm"]


@dataclass(frozen=True)
class InteropClient:
    """A client registered for one relying party, in one profile."""

    profile: str
    client_id: str
    secret: str
    redirect_uri: str
    logout_uri: str


@dataclass
class InteropIdp:
    """A running provider, its pupil, and a way to register clients."""

    server: IdpProcess
    pupil: SeededPupil
    protocol_id: str
    database_url: str

    @property
    def issuer(self) -> str:
        return self.server.issuer

    def register(
        self, profile: str, redirect_uri: str, logout_uri: str, **options: Any
    ) -> InteropClient:
        """A client in ``profile`` (``add_client``'s options, e.g. ``auth_method``, ``jwks``)."""
        engine = make_engine(self.database_url)
        try:
            client_id, secret = seeding.register_client(
                engine,
                protocol_id=self.protocol_id,
                redirect_uris=[redirect_uri],
                post_logout_redirect_uris=[logout_uri],
                name=f"Interop ({profile})",
                profile=profile,
                **options,
            )
        finally:
            engine.dispose()
        return InteropClient(profile, client_id, secret, redirect_uri, logout_uri)

    def log_in(self, browser: Browser, url: str) -> httpx.Response:
        """The pupil opens ``url`` and logs in; LeerID's answer (a 303 or a form_post page)."""
        page = browser.open(url)
        return browser.provider_login(page, self.pupil.username, self.pupil.password)


def form_post_fields(page: httpx.Response, redirect_uri: str) -> dict[str, str]:
    """The fields of a form_post answer (OAuth 2.0 Form Post Response Mode §2): one form,
    posted to the client's redirect URI, its fields hidden."""
    assert page.status_code == 200, page.text
    (form,) = forms(page.text)
    assert form.method == "post" and form.action == redirect_uri, form
    return form.hidden


@pytest.fixture(scope="module")
def interop_idp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InteropIdp]:
    """A seeded provider on SQLite for the whole module (the relying parties are the subject)."""
    with fresh_database(BACKENDS[0], tmp_path_factory.mktemp("interop")) as url:
        pupil = seed_pupil(url)
        protocol_id = store_protocol(url)
        server = start_idp(url, more_env={"LEERID_CACHE_SECONDS": "0"})
        try:
            yield InteropIdp(server, pupil, protocol_id, url)
        finally:
            server.stop()


@pytest.fixture
def pupil_browser() -> Iterator[Browser]:
    """The pupil's browser (cookies kept, no JavaScript), closed after the test."""
    with Browser() as browser:
        yield browser
