"""The portal's cookies, each encrypted and authenticated with the provider's session key
(JWE ``dir`` + ``A256GCM``), so the browser can neither read nor change them; an expiry and
the cookie's purpose inside the sealed payload.

- The session (``sp_sessie``): HttpOnly, SameSite=Lax, Secure under https.
- The pending login (``sp_aanmelding``): what the callback needs to check the provider's
  answer (state, nonce, PKCE verifier), for ten minutes, one use. A provider that answers
  with ``response_mode=form_post`` sends the browser back with a cross-site POST, which
  carries no SameSite=Lax cookie: under https this cookie is ``SameSite=None; Secure`` (and
  ``__Host-``), so it comes along, while the session cookie stays Lax. It grants nothing
  by itself: it only lets the callback check an answer whose ``state`` matches it
  (RFC 6749 §10.12). Over plain http browsers refuse ``SameSite=None``: it is Lax there,
  which works for a provider on the same site (a test on loopback), not across sites.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any, Literal

from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from starlette.requests import Request
from starlette.responses import Response

COOKIE = "sp_sessie"
LIFETIME = 8 * 3600
PENDING_COOKIE = "sp_aanmelding"
PENDING_LIFETIME = 600
"""Seconds a login may take at the provider (its own login form lives shorter)."""

SameSite = Literal["lax", "strict", "none"]


class SessionSealer:
    def __init__(self, key: bytes, secure: bool) -> None:
        self._key = OctKey.import_key(key)
        self.secure = secure
        # RFC 6265bis 4.1.3.2: "__Host-" pins the cookie to this host, path /, Secure
        self.name = f"__Host-{COOKIE}" if secure else COOKIE
        self.pending_name = f"__Host-{PENDING_COOKIE}" if secure else PENDING_COOKIE
        self._pending_samesite: SameSite = "none" if secure else "lax"

    def _open(self, token: str | None, purpose: str) -> dict[str, Any]:
        if not token:
            return {}
        try:
            data = json.loads(jwe.decrypt_compact(token, self._key).plaintext or b"{}")
        except (JoseError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("exp", 0) < time.time():
            return {}
        if data.get("use", "session") != purpose:  # one cookie never stands for the other
            return {}
        return data

    def _seal(self, data: dict[str, Any]) -> str:
        return jwe.encrypt_compact(
            {"alg": "dir", "enc": "A256GCM"}, json.dumps(data).encode(), self._key
        )

    def read(self, request: Request) -> dict[str, Any]:
        return self._open(request.cookies.get(self.name), "session")

    def write(self, response: Response, data: dict[str, Any]) -> None:
        data = dict(data)
        data.setdefault("csrf", secrets.token_urlsafe(32))
        data["exp"] = min(data.get("exp") or time.time() + LIFETIME, time.time() + LIFETIME)
        response.set_cookie(
            self.name,
            self._seal(data),
            max_age=LIFETIME,
            httponly=True,
            samesite="lax",
            secure=self.secure,
            path="/",
        )

    def clear(self, response: Response) -> None:
        response.delete_cookie(
            self.name, path="/", secure=self.secure, httponly=True, samesite="lax"
        )

    # -- the pending login ----------------------------------------------------------------

    def read_pending(self, request: Request) -> dict[str, Any]:
        """The pending login of this browser (empty when missing, forged or expired)."""
        data = self._open(request.cookies.get(self.pending_name), "pending")
        login = data.get("login")
        return login if isinstance(login, dict) else {}

    def write_pending(self, response: Response, login: dict[str, Any]) -> None:
        data = {"use": "pending", "login": login, "exp": time.time() + PENDING_LIFETIME}
        response.set_cookie(
            self.pending_name,
            self._seal(data),
            max_age=PENDING_LIFETIME,
            httponly=True,
            samesite=self._pending_samesite,
            secure=self.secure,
            path="/",
        )

    def clear_pending(self, response: Response) -> None:
        response.delete_cookie(
            self.pending_name,
            path="/",
            secure=self.secure,
            httponly=True,
            samesite=self._pending_samesite,
        )
