"""Apache's ``mod_auth_openidc`` (Debian's package), a relying party that is not ours.

Issue 14, point 5. Apache protects ``/protected/`` with mod_auth_openidc configured from
leerid's discovery document; the pupil's browser opens the protected page, is sent to
LeerID, logs in and comes back (a redirect under ``strict``, a form_post under ``acm``).
mod_auth_openidc checks state, redeems the code with PKCE S256 and the client secret,
validates the ID token (signature through the JWKS, iss, aud, nonce) and fetches userinfo;
the protected page shows the ``OIDC_CLAIM_*`` variables it set. Logout goes through
mod_auth_openidc's own ``?logout=`` (RP-Initiated Logout with its id_token_hint).
"""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx
from playwright.sync_api import Browser as PlaywrightBrowser

from leerid.testing.browser import Browser
from leerid.testing.servers import free_port
from tests.interop.apache import Apache, running_apache
from tests.interop.conftest import InteropClient, InteropIdp, form_post_fields


def oidc_directives(
    idp: InteropIdp, client: InteropClient, apache_base: str, acm: bool
) -> dict[str, str]:
    directives = {
        "OIDCProviderMetadataURL": f"{idp.issuer}/.well-known/openid-configuration",
        "OIDCClientID": client.client_id,
        "OIDCClientSecret": client.secret,
        "OIDCRedirectURI": f"{apache_base}/protected/redirect_uri",
        "OIDCCryptoPassphrase": "interop-test-passphrase",
        "OIDCPKCEMethod": "S256",
        "OIDCScope": '"openid ov_leerling"',
        "OIDCProviderTokenEndpointAuth": "client_secret_post" if acm else "client_secret_basic",
    }
    if acm:
        directives["OIDCResponseMode"] = "form_post"
    return directives


def claims_page(page: httpx.Response) -> dict[str, str]:
    """The ``OIDC_CLAIM_*`` variables the protected page printed (name without the prefix)."""
    assert page.status_code == 200, page.text
    lines = [line.split("=", 1) for line in page.text.splitlines() if "=" in line]
    return {name.removeprefix("OIDC_CLAIM_"): value for name, value in lines}


def apache_login(idp: InteropIdp, browser: Browser, apache: Apache) -> httpx.Response:
    """Open the protected page, log in at LeerID, come back; the protected page's answer."""
    to_provider = browser.open(apache.protected)
    assert to_provider.status_code == 302, apache.error_log()
    assert to_provider.headers["location"].startswith(f"{idp.issuer}/v1/auth?")
    done = idp.log_in(browser, to_provider.headers["location"])
    if done.status_code == 303:  # query: the browser follows the redirect to Apache
        back = browser.open(done.headers["location"])
    else:  # form_post: the browser posts the page's fields, as its script does
        fields = form_post_fields(done, apache.redirect_uri)
        back = browser.http.post(apache.redirect_uri, data=fields)
    return browser.follow(back)


def register_and_run(idp: InteropIdp, profile: str) -> tuple[InteropClient, int]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    method = "client_secret_post" if profile == "acm" else "client_secret_basic"
    client = idp.register(
        profile, f"{base}/protected/redirect_uri", f"{base}/loggedout", auth_method=method
    )
    return client, port


def logout(browser: Browser, apache: Apache) -> httpx.Response:
    """mod_auth_openidc's logout: its session ends, then LeerID's end-session endpoint."""
    to_provider = browser.open(f"{apache.redirect_uri}?logout={quote(apache.logged_out, safe='')}")
    assert to_provider.status_code == 302, apache.error_log()
    return browser.open(to_provider.headers["location"])


def test_strict_query_pkce_basic_claims_and_logout(
    interop_idp: InteropIdp, pupil_browser: Browser
) -> None:
    client, port = register_and_run(interop_idp, "strict")
    base = f"http://127.0.0.1:{port}"
    with running_apache(oidc_directives(interop_idp, client, base, acm=False), port) as apache:
        claims = claims_page(apache_login(interop_idp, pupil_browser, apache))
        assert claims["ov_account_uuid"] == interop_idp.pupil.account_uuid, claims
        assert claims["iss"] == interop_idp.issuer and claims["aud"] == client.client_id
        assert claims["sub"] == interop_idp.pupil.account_uuid  # strict: today's subject
        provider = logout(pupil_browser, apache)
        assert provider.status_code == 303, provider.text  # the id_token_hint came along
        assert provider.headers["location"].startswith(apache.logged_out)
        again = pupil_browser.open(apache.protected)
        assert again.status_code == 302  # the Apache session ended too: back to LeerID


def test_acm_form_post_secret_post_and_an_opaque_sub(
    interop_idp: InteropIdp, pupil_browser: Browser
) -> None:
    client, port = register_and_run(interop_idp, "acm")
    base = f"http://127.0.0.1:{port}"
    with running_apache(oidc_directives(interop_idp, client, base, acm=True), port) as apache:
        claims = claims_page(apache_login(interop_idp, pupil_browser, apache))
        assert claims["ov_account_uuid"] == interop_idp.pupil.account_uuid, claims
        assert re.fullmatch(r"[0-9a-f]{40}", claims["sub"])  # ACM's kind of identifier
        provider = logout(pupil_browser, apache)
        assert provider.status_code == 303, provider.text
        assert provider.headers["location"].startswith(apache.logged_out)


def test_acm_form_post_page_submits_itself_to_apache_in_chromium(
    interop_idp: InteropIdp, browser: PlaywrightBrowser
) -> None:
    """Form Post §2 in a real browser: LeerID's page posts itself (its script, allowed by the
    page's CSP) to mod_auth_openidc, which finds its state cookie and logs the pupil in."""
    client, port = register_and_run(interop_idp, "acm")
    base = f"http://127.0.0.1:{port}"
    with running_apache(oidc_directives(interop_idp, client, base, acm=True), port) as apache:
        page = browser.new_page()
        try:
            page.goto(apache.protected)
            assert page.url.startswith(f"{interop_idp.issuer}/v1/auth"), apache.error_log()
            page.locator('input[name="username"]').fill(interop_idp.pupil.username)
            page.locator('input[name="password"]').fill(interop_idp.pupil.password)
            with page.expect_navigation(url=apache.protected, timeout=15_000):
                page.locator('input[name="password"]').press("Enter")
            text = page.locator("body").inner_text()
        finally:
            page.close()
    lines = [line.split("=", 1) for line in text.splitlines() if line.startswith("OIDC_CLAIM_")]
    claims = {name.removeprefix("OIDC_CLAIM_"): value for name, value in lines}
    assert claims.get("ov_account_uuid") == interop_idp.pupil.account_uuid, text
