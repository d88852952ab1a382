"""Issue 14 point 3: a form_post answer in a real browser across sites. The portal on
https://localhost (its cookies ``Secure``, ``__Host-``), the fake ACM/IDM on
http://127.0.0.1: another site, so the provider's page posts the answer cross-site, which
carries no SameSite=Lax cookie; the pending-login cookie (``SameSite=None; Secure``) comes
along, and the pupil lands on their page while the session cookie stays Lax."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.relying_party import RelyingParty
from leerid.sp.kit.settings import load_settings
from leerid.sp.portal.app import create_portal
from leerid.testing.protocol_confirmation import confirm_local_protocol
from leerid.testing.servers import free_port, serve_in_thread
from tests.acm.fake_acm import AcmClient
from tests.acm.world import ACM_SECRET_ENV, acm_pupil, fake_acm
from tests.conftest import BACKENDS
from tests.sp.conftest import write_config

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = [pytest.mark.parametrize("database_url", [BACKENDS[-1]], indirect=True)]


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost (the browser is told to accept it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    key_file, cert_file = folder / "key.pem", folder / "cert.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_file, cert_file


def test_a_form_post_answer_crosses_sites_in_a_real_browser(
    browser: Browser, tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tls = _certificate(tmp_path)
    port = free_port()
    portal_url = f"https://localhost:{port}"
    with fake_acm() as acm:
        pupil = acm_pupil(acm)
        monkeypatch.setenv(ACM_SECRET_ENV, "geheim-" + "x" * 24)
        acm.clients["lars"] = AcmClient(
            "lars", "geheim-" + "x" * 24, redirect_uris=(f"{portal_url}/callback",)
        )
        path = write_config(
            tmp_path / "lars",
            database_url,
            issuer=acm.issuer,
            client_id="lars",
            redirect_uri=f"{portal_url}/callback",
            public_url=portal_url,
            auth=f'auth_method = "client_secret_post"\nclient_secret_env = "{ACM_SECRET_ENV}"\n'
            'response_mode = "form_post"',
            poll_interval=0,
        )
        provider = ServiceProvider(load_settings(path))
        confirm_local_protocol(provider)
        trust = ssl.create_default_context(cafile=str(tls[1]))
        rp = RelyingParty(provider.settings, http=httpx.AsyncClient(timeout=10, verify=trust))
        context = browser.new_context(ignore_https_errors=True)
        portal = serve_in_thread(lambda _base: create_portal(provider, rp), port=port, tls=tls)
        try:
            with portal:
                page = context.new_page()
                page.goto(f"{portal_url}/aanmelden")
                assert page.url.startswith(acm.issuer)  # at the provider's login form
                page.fill("input[name=username]", pupil.username)
                page.fill("input[name=password]", pupil.password)
                page.click("button")
                page.wait_for_url(f"{portal_url}/mijn-gegevens", timeout=15000)
                assert "Lotte" in page.content()
                cookies = {c["name"]: c for c in context.cookies(portal_url)}
        finally:
            context.close()
            provider.engine.dispose()
    assert cookies["__Host-sp_sessie"]["sameSite"] == "Lax"
    assert "__Host-sp_aanmelding" not in cookies  # one answer: cleared at the callback
    record = provider.snapshot(pupil.claims["ov_leerid_uuid"])
    assert record is not None and record.account_uuid == pupil.claims["ov_account_uuid"]
