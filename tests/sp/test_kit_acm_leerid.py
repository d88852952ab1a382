"""Issue 14 point 3: the same kit and LARS portal against leerid, with a strict client (query,
sub = the account) and with an acm client (form_post, an opaque 40-hex sub): only the issuer
URL, the client and the response mode change, as when switching to ACM/IDM
(tests/sp/test_kit_acm.py); the pupil is found by ov_account_uuid each time."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from leerid.sp.kit.login_claims import read_login
from leerid.sp.kit.relying_party import LoginResult, RelyingParty
from leerid.sp.kit.settings import SPSettings
from leerid.testing.browser import Browser, hidden_fields
from leerid.testing.servers import free_port
from tests.acm.world import deliver, portal_at, provider_answer
from tests.conftest import BACKENDS
from tests.idp_server import running_idp
from tests.sp.lars_world import FAST_HASH

pytestmark = [pytest.mark.parametrize("database_url", [BACKENDS[-1]], indirect=True)]

SECRET_ENV = "LARS_LEERID_SECRET"
MODES = {"strict": "query", "acm": "form_post"}
USERINFO_SUB = {"strict": None, "acm": "required"}
"""The acm client's portal holds userinfo to OIDC Core §5.3.2 (leerid always sends sub);
the strict one keeps the default, optional."""


def _params(answer: httpx.Response) -> dict[str, str]:
    """The authorization response as the callback would receive it."""
    if answer.status_code in (302, 303):
        return dict(parse_qsl(urlsplit(answer.headers["location"]).query))
    return hidden_fields(answer.text)


async def _kit_login(settings: SPSettings, browser: Browser, user: str, pw: str) -> LoginResult:
    """The kit's relying party alone, driven by the scripted browser."""
    rp = RelyingParty(settings)
    try:
        url, pending = await rp.begin()
        page = browser.follow(browser.open(url))
        answer = browser.provider_login(page, user, pw)
        return await rp.finish(_params(answer), pending)
    finally:
        await rp.aclose()


@pytest.mark.parametrize("profile", ["strict", "acm"])
def test_the_portal_logs_a_pupil_in_at_leerid_in_either_profile(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch, profile: str
) -> None:
    port = free_port()
    portal_url = f"http://127.0.0.1:{port}"
    with running_idp(
        database_url,
        more_env=FAST_HASH,
        redirect_uris=[f"{portal_url}/callback"],
        post_logout_redirect_uris=[f"{portal_url}/"],
        auth_method="client_secret_basic",
        profile=profile,
    ) as idp:
        monkeypatch.setenv(SECRET_ENV, idp.client_secret)
        with (
            portal_at(
                tmp_path / "lars",
                f"sqlite:///{tmp_path / 'lars.db'}",
                issuer=idp.issuer,
                client_id=idp.client_id,
                auth=f'auth_method = "client_secret_basic"\nclient_secret_env = "{SECRET_ENV}"',
                response_mode=MODES[profile],
                port=port,
                userinfo_sub=USERINFO_SUB[profile],
            ) as portal,
            Browser() as browser,
        ):
            answer = provider_answer(browser, portal.url, idp.username, idp.password)
            assert answer.status_code == (200 if profile == "acm" else 303), answer.text
            page = browser.follow(deliver(browser, answer))
            assert page.status_code == 200 and page.url.path == "/mijn-gegevens", page.text
            record = portal.provider.snapshot(idp.pupil.leer_id_uuid)
            assert record is not None and record.key_kind == "leer_id_uuid"
            assert record.account_uuid == idp.pupil.account_uuid
            with Browser() as again:  # the kit itself: what sub it got, and the same pupil
                result = asyncio.run(
                    _kit_login(portal.provider.settings, again, idp.username, idp.password)
                )
    sub = result.claims["sub"]
    if profile == "acm":
        assert re.fullmatch(r"[0-9a-f]{40}", sub) and sub != idp.pupil.account_uuid
    else:
        assert sub == idp.pupil.account_uuid
    assert read_login(result.claims).account_uuid == idp.pupil.account_uuid
