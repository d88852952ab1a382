"""The kit's LARS portal on loopback against a provider chosen by its issuer URL: the fake
ACM/IDM here, or a leerid (tests/sp/test_kit_acm_leerid.py), and a pupil's login through the
scripted browser in either response mode."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from leerid.sp.kit.provider import PupilSnapshot, ServiceProvider
from leerid.sp.kit.settings import load_settings
from leerid.testing.browser import Browser, forms
from leerid.testing.protocol_confirmation import confirm_local_protocol
from leerid.testing.servers import free_port, serve_in_thread, serve_portal
from tests.acm.fake_acm import AcmClient, AcmPupil, FakeAcm
from tests.sp.conftest import PARTNER, write_config

ACM_SECRET_ENV = "LARS_ACM_SECRET"


@contextmanager
def fake_acm() -> Iterator[FakeAcm]:
    """The fake ACM/IDM served by uvicorn in a thread, on a free loopback port."""
    made: list[FakeAcm] = []

    def build(base: str) -> object:
        made.append(FakeAcm(base))
        return made[0].app()

    with serve_in_thread(build, lifespan="off"):
        yield made[0]


def acm_pupil(fake: FakeAcm) -> AcmPupil:
    """An identified pupil of the partner school, registered at the fake ACM."""
    pupil = AcmPupil(
        username=f"lotte.{uuid.uuid4().hex[:8]}",
        password="een lang wachtwoord",
        claims={
            "ov_account_uuid": str(uuid.uuid4()),
            "ov_leerid_uuid": str(uuid.uuid4()),
            "ov_orgcode": [PARTNER],
            "given_name": "Lotte",
            "family_name": "Peeters",
        },
    )
    fake.pupils[pupil.username] = pupil
    return pupil


@dataclass
class Portal:
    provider: ServiceProvider
    url: str


@contextmanager
def portal_at(
    folder: Path,
    database_url: str,
    *,
    issuer: str,
    client_id: str,
    auth: str,
    response_mode: str = "query",
    port: int | None = None,
    userinfo_sub: str | None = None,
) -> Iterator[Portal]:
    """The LARS portal for the provider at ``issuer`` (only the issuer, the client and the
    response mode differ between providers), its protocol confirmed locally;
    ``userinfo_sub``: the ``[provider]`` key written when given (else its default)."""
    rule = "" if userinfo_sub is None else f'\nuserinfo_sub = "{userinfo_sub}"'
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    path = write_config(
        folder,
        database_url,
        issuer=issuer,
        client_id=client_id,
        redirect_uri=f"{url}/callback",
        public_url=url,
        auth=f'{auth}\nresponse_mode = "{response_mode}"{rule}',
        poll_interval=0,
    )
    provider = ServiceProvider(load_settings(path))
    confirm_local_protocol(provider)
    with serve_portal(provider, port):
        yield Portal(provider, url)
    provider.engine.dispose()


@contextmanager
def acm_portal(
    fake: FakeAcm,
    folder: Path,
    database_url: str,
    response_mode: str,
    monkeypatch: pytest.MonkeyPatch,
    userinfo_sub: str | None = None,
) -> Iterator[Portal]:
    """The portal registered at the fake ACM as a client_secret_basic client."""
    port = free_port()
    secret = uuid.uuid4().hex
    monkeypatch.setenv(ACM_SECRET_ENV, secret)
    client = AcmClient(
        client_id=str(uuid.uuid4()),
        secret=secret,
        redirect_uris=(f"http://127.0.0.1:{port}/callback",),
        post_logout_redirect_uris=(f"http://127.0.0.1:{port}/",),
    )
    fake.clients[client.client_id] = client
    auth = f'auth_method = "client_secret_basic"\nclient_secret_env = "{ACM_SECRET_ENV}"'
    with portal_at(
        folder,
        database_url,
        issuer=fake.issuer,
        client_id=client.client_id,
        auth=auth,
        response_mode=response_mode,
        port=port,
        userinfo_sub=userinfo_sub,
    ) as portal:
        yield portal


def provider_answer(
    browser: Browser, portal_url: str, username: str, password: str
) -> httpx.Response:
    """Start at the portal, log in at the provider: its answer (a redirect back, or the
    form_post page that the browser would submit by itself)."""
    page = browser.follow(browser.open(f"{portal_url}/aanmelden"))
    return browser.provider_login(page, username, password)


def deliver(browser: Browser, answer: httpx.Response) -> httpx.Response:
    """What a browser does with the provider's answer: follow the redirect, or post the
    form_post page's form (its script would); the portal's answer, not yet followed."""
    if answer.status_code in (302, 303):
        return browser.open(str(answer.url.join(answer.headers["location"])))
    (form,) = forms(answer.text)
    assert form.method == "post", answer.text
    return browser.submit(answer, {})


def pupil_login(browser: Browser, portal_url: str, username: str, password: str) -> httpx.Response:
    """The whole login through the portal; the page it ends on."""
    back = deliver(browser, provider_answer(browser, portal_url, username, password))
    return browser.follow(back)


def record_of(portal: Portal, key: str) -> PupilSnapshot | None:
    return portal.provider.snapshot(key)
