"""State the browser carries for us, encrypted and authenticated (AES-256-GCM).

Issue 4 §6: all state lives in the database or in encrypted, signed cookies. The pending
authorization request rides in the login form and the SSO session in a cookie, both sealed
with a 256-bit secret that is stored once in the database, so every worker and node opens
what another sealed. AES-GCM authenticates as it encrypts: a changed byte fails to open.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["SEALED_LIMIT", "Sealer"]

_NONCE = 12
"""Bytes of AES-GCM nonce: 96 bits, random per seal (NIST SP 800-38D §8.2.2)."""
SEALED_LIMIT = 32768
"""Characters of a sealed value we open: the largest login form ``request`` the parameter
limits allow (``leerid.idp.web.parameters``) seals to about 21,000."""
_PREFIX = "v2."
"""Marks this format; a value sealed by the earlier JWE format does not open (log in again)."""


class Sealer:
    """Seals a small JSON document for a purpose and a lifetime; opens only its own.

    The format is ``v2.`` + base64url(nonce ‖ AES-256-GCM(JSON {exp, d})), with the same
    guarantees as the JWE (``dir`` + ``A256GCM``) it replaces, at a fraction of the CPU:

    - confidentiality: AES-256-GCM under the 256-bit secret shared by every node through
      the database (``leerid.idp.store.server_secret``), a fresh random 96-bit nonce per seal;
    - integrity: the GCM tag covers the nonce's ciphertext and the associated data, so a
      changed byte, a value sealed with another key, or a truncated one fails to open;
    - purpose binding: the purpose is the associated data, so a value sealed for one
      purpose (a login form's ``pending``) never opens as another (the ``sso`` cookie);
    - expiry: ``exp`` inside the sealed body, checked on every open.
    """

    def __init__(self, secret: bytes) -> None:
        self._aead = AESGCM(secret)

    def seal(self, purpose: str, data: dict[str, Any], lifetime: int) -> str:
        """``data`` sealed for ``purpose``, valid ``lifetime`` seconds."""
        body = json.dumps(
            {"exp": int(time.time()) + lifetime, "d": data}, separators=(",", ":")
        ).encode()
        nonce = secrets.token_bytes(_NONCE)
        sealed = nonce + self._aead.encrypt(nonce, body, purpose.encode())
        return _PREFIX + base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()

    def open(self, purpose: str, token: str | None) -> dict[str, Any] | None:
        """The data sealed for ``purpose``, or None when absent, altered, foreign or expired."""
        if not token or len(token) > SEALED_LIMIT or not token.startswith(_PREFIX):
            return None
        try:
            text = token[len(_PREFIX) :]
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            body = json.loads(self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], purpose.encode()))
        except (InvalidTag, ValueError, TypeError):
            return None
        if not isinstance(body, dict):
            return None
        exp = body.get("exp")
        if not isinstance(exp, int) or exp < time.time():
            return None
        data = body.get("d")
        return data if isinstance(data, dict) else None
