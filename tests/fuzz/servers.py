"""The fuzz suite's real servers, each a process on loopback with its log in a file.

``provider_target``: a seeded ``leerid idp serve`` and what a fuzzer needs to get past the
first checks (a logged-in browser's cookies, a login form's sealed request, an activation
form, an access and an ID token, fresh codes). ``portal_target``: a LARS portal
(``leerid sp serve``) on its own database, its provider, a logged-in pupil and two staff
members (``toegangscontrole`` and ``dpo``) with their sessions and CSRF tokens.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.settings import load_settings
from leerid.sp.kit.staff import add_staff
from leerid.testing.browser import Browser, hidden_field, hidden_fields
from leerid.testing.servers import free_port, start_portal
from tests.fuzz.requests import ServerLog
from tests.idp.flow import RelyingParty, full_login
from tests.idp_server import RunningIdp, running_idp
from tests.sp.conftest import add_bound_staff, ref_for
from tests.sp.lars_world import FAST_HASH, provider_for_portal

STAFF_PASSWORD = "fuzz-wachtwoord-lang-genoeg"


@dataclass(repr=False)
class ProviderTarget:
    """A running provider and valid values to start from."""

    idp: RunningIdp
    log: ServerLog
    cookies: dict[str, str]
    """The logged-in browser's ``leerid_sso`` and ``leerid_csrf``."""
    pending: str
    """A login form's sealed ``request`` (bound to ``cookies``' CSRF token)."""
    form_state: str
    access_token: str
    id_token: str
    rp: RelyingParty
    browser: Browser

    def fresh_code(self) -> tuple[str, str]:
        """A new code for the client (single sign-on) and its PKCE verifier."""
        auth = self.rp.authorization()
        answer = self.browser.open(auth.url)
        assert answer.status_code == 303, answer.text
        return parse_qs(urlsplit(answer.headers["location"]).query)["code"][0], auth.verifier


@contextmanager
def provider_target(database_url: str) -> Iterator[ProviderTarget]:
    """A seeded provider with a pupil logged in once."""
    with running_idp(database_url, more_env=FAST_HASH) as idp:
        rp, browser, auth, location = full_login(idp)
        tokens = rp.fetch_token(location, auth.verifier)
        page = browser.open(rp.authorization(prompt="login").url)
        activation = browser.open(f"{idp.issuer}/v1/activate")
        cookies = {c.name: c.value for c in browser.http.cookies.jar}
        yield ProviderTarget(
            idp,
            ServerLog(idp.server.log_path),  # type: ignore[arg-type]
            cookies,
            hidden_fields(page.text)["request"],
            hidden_field(activation.text, "form_state"),
            tokens["access_token"],
            tokens["id_token"],
            rp,
            browser,
        )


@dataclass
class Session:
    """A portal session: its cookie and its CSRF token."""

    cookies: dict[str, str]
    csrf: str


@dataclass(repr=False)
class PortalTarget:
    """A running LARS portal and its provider."""

    url: str
    issuer: str
    log: ServerLog
    sessions: dict[str, Session]
    """``pupil``, ``toegangscontrole`` and ``dpo``."""
    pupil_key: str


def _cookies(http: httpx.Client) -> dict[str, str]:
    return {c.name: c.value for c in http.cookies.jar if not c.name.startswith("leerid")}


def _staff(url: str, username: str) -> Session:
    staff = Browser()
    done = staff.staff_login(url, username, STAFF_PASSWORD)
    assert done.status_code == 303, done.text
    home = staff.http.get(f"{url}/personeel")
    return Session(_cookies(staff.http), hidden_fields(home.text)["csrf"])


@contextmanager
def portal_target(idp_database: str, portal_database: str, folder: Path) -> Iterator[PortalTarget]:
    """Provider and portal, a pupil who logged in through LeerID, two staff members."""
    port_hint = free_port()  # the portal's port is only known later: register a pattern
    portal_url = f"http://127.0.0.1:{port_hint}"
    with provider_for_portal(idp_database, folder, portal_url, portal_database) as (idp, config):
        provider = ServiceProvider(load_settings(config))
        add_bound_staff(provider, "clb.fuzz", STAFF_PASSWORD)  # art. 4, 6: bound, schools
        add_staff(provider.engine, provider.protocol, "dpo.fuzz", STAFF_PASSWORD, "dpo")
        provider.engine.dispose()
        portal = start_portal(config, port=port_hint)
        url = portal.base_url
        try:
            pupil = Browser()
            landed = pupil.lars_login(url, idp.username, idp.password)
            assert landed.status_code == 200, landed.text
            sessions = {
                "pupil": Session(_cookies(pupil.http), hidden_fields(landed.text)["csrf"]),
                "toegangscontrole": _staff(url, "clb.fuzz"),
                "dpo": _staff(url, "dpo.fuzz"),
            }
            log = ServerLog(portal.log_path)  # type: ignore[arg-type]
            # staff pages name a pupil by a reference sealed for one member of staff (art. 4)
            ref = ref_for(provider, "clb.fuzz", idp.pupil.leer_id_uuid)
            yield PortalTarget(url, idp.issuer, log, sessions, ref)
        finally:
            portal.stop(10)
