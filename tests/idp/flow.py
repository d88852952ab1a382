"""The kit's browser and relying party, bound to a provider started by ``running_idp``."""

from __future__ import annotations

import httpx

from leerid.testing import relying_party
from leerid.testing.browser import Browser
from leerid.testing.relying_party import SCOPE, Authorization, query
from tests.idp_server import RunningIdp

__all__ = ["Authorization", "Browser", "RelyingParty", "full_login", "query", "token_request"]


class RelyingParty(relying_party.RelyingParty):
    """The kit's confidential client (Authlib), registered as ``idp``'s seeded client."""

    def __init__(
        self,
        idp: RunningIdp,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        auth_method: str = "client_secret_basic",
        scope: str = SCOPE,
    ) -> None:
        super().__init__(
            idp.issuer,
            client_id or idp.client_id,
            client_secret if client_secret is not None else idp.client_secret,
            idp.redirect_uri,
            auth_method=auth_method,
            scope=scope,
        )
        self.idp = idp


def full_login(
    idp: RunningIdp, rp: RelyingParty | None = None, browser: Browser | None = None, **extra: str
) -> tuple[RelyingParty, Browser, Authorization, str]:
    """Authorize, log in with the pupil's password; returns the redirect Location."""
    rp = rp or RelyingParty(idp)
    browser = browser or Browser()
    auth = rp.authorization(**extra)
    page = browser.open(auth.url)
    assert page.status_code == 200, page.text
    done = browser.provider_login(page, idp.username, idp.password)
    assert done.status_code == 303, done.text
    return rp, browser, auth, done.headers["location"]


def token_request(idp: RunningIdp, **form: str) -> httpx.Response:
    """A token request by the seed's client (``client_secret_basic``), as sent."""
    return httpx.post(f"{idp.issuer}/v1/token", auth=(idp.client_id, idp.client_secret), data=form)
