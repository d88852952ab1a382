"""The floor of an SSO flow in Python: the flow's messages and cryptography, nothing stored.

``bench/side_by_side.py --servers …,floor`` runs this app under uvicorn (``--workers 2``, as
leerid; uvloop and httptools) and drives it like the other servers. It answers exactly what
the driver's flow needs, with the work no provider can skip, and nothing else: no database,
no session, no registry, no protocol, no disclosure record, no log entry, no metrics, no
middleware. So its CPU per flow is a lower bound for any provider on this stack (Python,
Starlette, uvicorn), and the room the goal of issue 15 leaves above it is what such a
provider may spend on everything else, PostgreSQL included.

Per flow (the scenario ``sso``: no login form):

- ``GET /authorize``: the client and its redirect URI checked, PKCE S256 required; the
  browser's session opened from its sealed cookie (the first visit, which a provider would
  answer with its login form, gets one: the floor has no login); the code is the nonce, the
  challenge and the subject sealed with AES-256-GCM (nothing stored); a 302 to the client
  with ``code``, ``state`` and ``iss`` (RFC 9207).
- ``POST /token``: client_secret_basic (compared in constant time), the code opened, its
  redirect URI and PKCE verifier checked (RFC 7636 S256); an RS256 ID token (joserfc, as
  leerid signs it) with the LeerID claims and ``at_hash``; the access token is the subject
  sealed.
- ``GET /userinfo``: the bearer token opened, the claims as JSON.

Its settings come from the environment (set by the bench): ``FLOOR_ISSUER``,
``FLOOR_CLIENT_ID``, ``FLOOR_CLIENT_SECRET``, ``FLOOR_KEY_FILE`` (an RSA private key in PEM,
shared by the workers so that one JWKS serves both) and ``FLOOR_SEAL_KEY`` (32 bytes, hex).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

REDIRECT_URI = "http://127.0.0.1/cb"
SESSION_COOKIE = "floor_session"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
LIFETIME = 300


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Sealer:
    """AES-256-GCM: a random 96-bit nonce per sealed value; ``purpose`` as associated data."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, purpose: bytes, value: dict[str, Any]) -> str:
        nonce = secrets.token_bytes(12)
        plain = json.dumps(value, separators=(",", ":")).encode()
        return _b64(nonce + self._aead.encrypt(nonce, plain, purpose))

    def open(self, purpose: bytes, text: str) -> dict[str, Any] | None:
        try:
            data = _unb64(text)
            opened: dict[str, Any] = json.loads(self._aead.decrypt(data[:12], data[12:], purpose))
        except (InvalidTag, ValueError, binascii.Error):
            return None
        return opened


def _error(code: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": code}, status_code=status, headers=NO_STORE)


def create_app() -> Starlette:
    """The floor app, its settings from the environment."""
    issuer = os.environ["FLOOR_ISSUER"]
    client_id = os.environ["FLOOR_CLIENT_ID"]
    secret = os.environ["FLOOR_CLIENT_SECRET"].encode()
    key = RSAKey.import_key(Path(os.environ["FLOOR_KEY_FILE"]).read_bytes())
    kid = key.thumbprint()
    seal_key = bytes.fromhex(os.environ["FLOOR_SEAL_KEY"])
    sealer = Sealer(seal_key)
    jwks = {"keys": [{**key.as_dict(private=False), "kid": kid, "use": "sig", "alg": "RS256"}]}
    discovery = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/jwks",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }
    basic = "Basic " + base64.b64encode(f"{client_id}:".encode() + secret).decode()
    expected_basic = basic.encode()
    # the same synthetic pupil in every worker: its UUIDs derived from the shared seal key
    ids = [
        str(uuid.UUID(bytes=hashlib.sha256(seal_key + bytes([i])).digest()[:16])) for i in range(4)
    ]
    subject = ids[0]
    claims = {
        "sub": subject,
        "given_name": "Floor",
        "family_name": "Bench",
        "ov_account_uuid": ids[1],
        "ov_leerid_uuid": ids[2],
        "ov_historiek_account_uuid": ids[3],
        "ov_orgcode": "123456",
    }

    async def configuration(request: Request) -> Response:
        return JSONResponse(discovery)

    async def keys(request: Request) -> Response:
        return JSONResponse(jwks)

    async def authorize(request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != client_id or q.get("redirect_uri") != REDIRECT_URI:
            return _error("invalid_request")  # never redirect to an unknown URI
        if q.get("response_type") != "code" or q.get("code_challenge_method") != "S256":
            return _error("invalid_request")
        now = int(time.time())
        session = sealer.open(b"session", request.cookies.get(SESSION_COOKIE, ""))
        new_session = session is None or session["x"] < now
        if session is None or new_session:  # a provider would show its login form here
            session = {"s": subject, "t": now, "x": now + 3600}
        code = sealer.seal(
            b"code",
            {"s": session["s"], "n": q.get("nonce"), "c": q.get("code_challenge"), "x": now + 60},
        )
        answer = {"code": code, "state": q.get("state", ""), "iss": issuer}
        redirect = RedirectResponse(f"{REDIRECT_URI}?{urlencode(answer)}", status_code=302)
        if new_session:
            cookie = sealer.seal(b"session", session)
            redirect.set_cookie(SESSION_COOKIE, cookie, httponly=True, samesite="lax")
        return redirect

    async def token(request: Request) -> Response:
        given = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(given, expected_basic):
            return _error("invalid_client", 401)
        form = await request.form()
        if form.get("grant_type") != "authorization_code" or form.get("redirect_uri") != (
            REDIRECT_URI
        ):
            return _error("invalid_request")
        code = sealer.open(b"code", str(form.get("code", "")))
        verifier = str(form.get("code_verifier", ""))
        if code is None or code["x"] < time.time():
            return _error("invalid_grant")
        challenge = _b64(hashlib.sha256(verifier.encode("ascii", "replace")).digest())
        if not hmac.compare_digest(challenge, str(code["c"])):
            return _error("invalid_grant")
        now = int(time.time())
        access = sealer.seal(b"access", {"s": code["s"], "x": now + LIFETIME})
        at_hash = _b64(hashlib.sha256(access.encode("ascii")).digest()[:16])  # OIDC Core 3.1.3.6
        payload = {
            **claims,
            "iss": issuer,
            "aud": client_id,
            "iat": now,
            "exp": now + LIFETIME,
            "auth_time": now,
            "nonce": code["n"],
            "at_hash": at_hash,
        }
        id_token = jwt.encode({"alg": "RS256", "kid": kid, "typ": "JWT"}, payload, key)
        body = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": LIFETIME,
            "id_token": id_token,
            "scope": "openid profile ov_leerling",
        }
        return JSONResponse(body, headers=NO_STORE)

    async def userinfo(request: Request) -> Response:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        grant = sealer.open(b"access", value) if scheme.lower() == "bearer" else None
        if grant is None or grant["x"] < time.time() or grant["s"] != subject:
            return _error("invalid_token", 401)
        return JSONResponse(claims, headers=NO_STORE)

    return Starlette(
        routes=[
            Route("/.well-known/openid-configuration", configuration),
            Route("/jwks", keys),
            Route("/authorize", authorize),
            Route("/token", token, methods=["POST"]),
            Route("/userinfo", userinfo),
        ]
    )
