"""One OpenID Connect code flow with PKCE, driven over HTTP as a relying party would."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge), RFC 7636 §4.1-4.2."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorization_url(
    issuer: str, client_id: str, redirect_uri: str, challenge: str, **extra: str
) -> tuple[str, str, str]:
    """The URL of an authorization request, with its state and nonce."""
    state, nonce = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": "openid profile ov_leerling",
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return f"{issuer}/v1/auth?{urlencode(query)}", state, nonce


def hidden(page: str, name: str) -> str:
    """The value of hidden field ``name`` of an HTML form."""
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no field {name} on the page"
    return html.unescape(found.group(1))


def code_from(location: str, state: str, issuer: str) -> str:
    """The code of an authorization response, after checking state and iss (RFC 9207)."""
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == [state] and query["iss"] == [issuer], location
    return query["code"][0]


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
    answer = client.post(
        f"{issuer}/v1/login",
        data={
            "request": hidden(page.text, "request"),
            "csrf_token": hidden(page.text, "csrf_token"),
            "username": username,
            "password": password,
        },
    )
    return answer, verifier, state, nonce


def password_login(
    client: httpx.Client,
    issuer: str,
    client_id: str,
    redirect_uri: str,
    username: str,
    password: str,
) -> tuple[str, str, str]:
    """A successful password login: (code, verifier, nonce)."""
    answer, verifier, state, nonce = submit_login(
        client, issuer, client_id, redirect_uri, username, password
    )
    assert answer.status_code == 303, answer.text
    return code_from(answer.headers["location"], state, issuer), verifier, nonce


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
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
        auth=(client_id, client_secret),
    )
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    keys = KeySet.import_key_set(client.get(f"{issuer}/v1/keys").json())
    token = jwt.decode(body["id_token"], keys, algorithms=["RS256", "ES256", "PS256"])
    claims = dict(token.claims)
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id},
        nonce={"essential": True, "value": nonce},
        sub={"essential": True},
        exp={"essential": True},
    ).validate(claims)
    return claims, str(body["access_token"])


def userinfo(client: httpx.Client, issuer: str, access_token: str) -> dict[str, Any]:
    """The userinfo answer for ``access_token`` (GET, bearer header)."""
    info = client.get(f"{issuer}/v1/userinfo", headers={"Authorization": f"Bearer {access_token}"})
    assert info.status_code == 200, info.text
    body: dict[str, Any] = info.json()
    return body
