"""A browser and a relying party (Authlib's httpx OAuth2Client) driving the real provider."""

from __future__ import annotations

import html
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.idp_server import RunningIdp

_HIDDEN = re.compile(r'<input type="hidden" name="(request|csrf_token)" value="([^"]*)">')


def hidden_fields(html: str) -> dict[str, str]:
    """The hidden fields of the login form."""
    return dict(_HIDDEN.findall(html))


def query(location: str) -> dict[str, str]:
    """The query parameters of a redirect."""
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@dataclass
class Authorization:
    """The client side of one authorization request."""

    url: str
    state: str
    nonce: str
    verifier: str


class RelyingParty:
    """A confidential client as a service provider would write it, on Authlib."""

    def __init__(
        self,
        idp: RunningIdp,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        auth_method: str = "client_secret_basic",
        scope: str = "openid profile ov_leerling",
    ) -> None:
        self.idp = idp
        self.discovery = httpx.get(f"{idp.issuer}/.well-known/openid-configuration").json()
        self.oauth = OAuth2Client(
            client_id or idp.client_id,
            client_secret if client_secret is not None else idp.client_secret,
            scope=scope,
            redirect_uri=idp.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method=auth_method,
        )

    def authorization(self, **extra: str) -> Authorization:
        verifier = generate_token(48)
        nonce = secrets.token_urlsafe(16)
        url, state = self.oauth.create_authorization_url(
            self.discovery["authorization_endpoint"],
            code_verifier=verifier,
            nonce=nonce,
            **extra,
        )
        return Authorization(url, state, nonce, verifier)

    def fetch_token(self, location: str, verifier: str) -> dict[str, Any]:
        return dict(
            self.oauth.fetch_token(
                self.discovery["token_endpoint"],
                authorization_response=location,
                code_verifier=verifier,
            )
        )

    def verify_id_token(
        self, id_token: str, nonce: str | None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Header and claims, after checking signature, kid, iss, aud, exp, nonce."""
        jwks = httpx.get(self.discovery["jwks_uri"]).json()
        token = jwt.decode(
            id_token, KeySet.import_key_set(jwks), algorithms=["RS256", "ES256", "PS256"]
        )
        header, claims = dict(token.header), dict(token.claims)
        assert header["kid"] in {k["kid"] for k in jwks["keys"]}
        assert claims["iss"] == self.idp.issuer
        assert claims["aud"] == self.oauth.client_id
        if nonce is not None:
            assert claims["nonce"] == nonce
        return header, claims


class Browser:
    """A pupil's browser: follows the provider's pages, keeps its cookies."""

    def __init__(self) -> None:
        self.http = httpx.Client(follow_redirects=False, timeout=30)

    def open(self, url: str) -> httpx.Response:
        return self.http.get(url)

    def login(self, page: httpx.Response, username: str, password: str) -> httpx.Response:
        fields = hidden_fields(page.text)
        action = str(
            page.url.copy_with(path=page.url.path.replace("/v1/auth", "/v1/login"), query=None)
        )
        return self.http.post(action, data={**fields, "username": username, "password": password})


_FIELD = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">')


def confirm_logout(browser: Browser, page: httpx.Response) -> httpx.Response:
    """Answer the provider's "sign out?" question (OIDC RP-Initiated Logout 1.0 §2)."""
    assert page.status_code == 200 and 'name="confirm"' in page.text, page.text
    fields = {name: html.unescape(value) for name, value in _FIELD.findall(page.text)}
    return browser.http.post(str(page.url.copy_with(query=None)), data=fields)


def full_login(
    idp: RunningIdp, rp: RelyingParty | None = None, browser: Browser | None = None, **extra: str
) -> tuple[RelyingParty, Browser, Authorization, str]:
    """Authorize, log in with the pupil's password; returns the redirect Location."""
    rp = rp or RelyingParty(idp)
    browser = browser or Browser()
    auth = rp.authorization(**extra)
    page = browser.open(auth.url)
    assert page.status_code == 200, page.text
    done = browser.login(page, idp.username, idp.password)
    assert done.status_code == 303, done.text
    return rp, browser, auth, done.headers["location"]
