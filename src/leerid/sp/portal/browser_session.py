"""The portal's session: a cookie encrypted and authenticated with the provider's session key
(JWE ``dir`` + ``A256GCM``), so the browser can neither read nor change it. HttpOnly,
SameSite=Lax, Secure under https; an expiry inside the sealed payload."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from starlette.requests import Request
from starlette.responses import Response

COOKIE = "sp_sessie"
LIFETIME = 8 * 3600


class SessionSealer:
    def __init__(self, key: bytes, secure: bool) -> None:
        self._key = OctKey.import_key(key)
        self.secure = secure
        # RFC 6265bis 4.1.3.2: "__Host-" pins the cookie to this host, path /, Secure
        self.name = f"__Host-{COOKIE}" if secure else COOKIE

    def read(self, request: Request) -> dict[str, Any]:
        token = request.cookies.get(self.name)
        if not token:
            return {}
        try:
            data = json.loads(jwe.decrypt_compact(token, self._key).plaintext or b"{}")
        except (JoseError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("exp", 0) < time.time():
            return {}
        return data

    def write(self, response: Response, data: dict[str, Any]) -> None:
        data = dict(data)
        data.setdefault("csrf", secrets.token_urlsafe(32))
        data["exp"] = min(data.get("exp") or time.time() + LIFETIME, time.time() + LIFETIME)
        token = jwe.encrypt_compact(
            {"alg": "dir", "enc": "A256GCM"}, json.dumps(data).encode(), self._key
        )
        response.set_cookie(
            self.name,
            token,
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
