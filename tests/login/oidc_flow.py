"""One OpenID Connect code flow with PKCE over plain httpx clients, with the kit's rules.

The write-count tests drive the provider with bare ``httpx.Client`` objects (a browser's and
a relying party's), so that each request is one they chose; the rules (PKCE, the request, the
response's checks, the ID token's) are ``leerid.testing.relying_party``'s.
"""

from __future__ import annotations

from typing import Any

import httpx
from joserfc.jwk import KeySet

from leerid.testing.browser import hidden_field
from leerid.testing.relying_party import (
    authorization_url,
    code_from,
    pkce_pair,
    token_form,
    verify_id_token,
)

__all__ = [
    "authorization_url",
    "code_from",
    "exchange",
    "password_login",
    "pkce_pair",
    "submit_login",
    "userinfo",
]


def submit_login(
    client: httpx.Client,
    issuer: str,
    client_id: str,
    redirect_uri: str,
    username: str,
    password: str,
) -> tuple[httpx.Response, str, str, str]:
    """Authorize and fill in the login form: (the answer, verifier, state, nonce)."""
    verifier, challenge = pkce_pair()
    url, state, nonce = authorization_url(issuer, client_id, redirect_uri, challenge)
    page = client.get(url)
    assert page.status_code == 200, page.text
    form = {name: hidden_field(page.text, name) for name in ("request", "csrf_token")}
    answer = client.post(
        f"{issuer}/v1/login", data={**form, "username": username, "password": password}
    )
    return answer, verifier, state, nonce


def password_login(client: httpx.Client, *login: str) -> tuple[str, str, str]:
    """A successful ``submit_login`` (``login``: issuer, client id, redirect URI, username,
    password): (code, verifier, nonce)."""
    answer, verifier, state, nonce = submit_login(client, *login)
    assert answer.status_code == 303, answer.text
    return code_from(answer.headers["location"], state, login[0]), verifier, nonce


def exchange(
    client: httpx.Client,
    issuer: str,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    code: str,
    verifier: str,
    nonce: str,
) -> tuple[dict[str, Any], str]:
    """Token request (client_secret_basic), ID token verified: (its claims, access token)."""
    tokens = client.post(
        f"{issuer}/v1/token",
        data=token_form(code, redirect_uri, verifier),
        auth=(client_id, client_secret),
    )
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    keys = KeySet.import_key_set(client.get(f"{issuer}/v1/keys").json())
    _header, claims = verify_id_token(body["id_token"], keys, issuer, client_id, nonce)
    return claims, str(body["access_token"])


def userinfo(client: httpx.Client, issuer: str, access_token: str) -> dict[str, Any]:
    """The userinfo answer for ``access_token`` (GET, bearer header)."""
    info = client.get(f"{issuer}/v1/userinfo", headers={"Authorization": f"Bearer {access_token}"})
    assert info.status_code == 200, info.text
    body: dict[str, Any] = info.json()
    return body
