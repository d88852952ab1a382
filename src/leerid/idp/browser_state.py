"""State the browser carries for us, encrypted and authenticated (RFC 7516 JWE, dir+A256GCM).

Issue 4 §6: all state lives in the database or in encrypted, signed cookies. The pending
authorization request rides in the login form and the SSO session in a cookie, both sealed
with a 256-bit secret that is stored once in the database, so every worker and node opens
what another sealed. AES-GCM authenticates as it encrypts: a changed byte fails to open.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import time
from typing import Any

from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from leerid.idp.models import IdpServerSecret

__all__ = ["Sealer", "load_server_secret"]

_REGISTRY = jwe.JWERegistry(algorithms=["dir", "A256GCM"])
"""The only algorithms accepted (built once: a registry per call costs more than the AES)."""


def load_server_secret(engine: Engine, name: str = "browser-state") -> bytes:
    """The shared secret ``name``; created by the first node that needs it."""
    with engine.connect() as conn:
        value = conn.execute(
            select(IdpServerSecret.value).where(IdpServerSecret.name == name)
        ).scalar()
    if value is None:
        try:
            with engine.begin() as conn:
                conn.execute(
                    insert(IdpServerSecret).values(
                        name=name,
                        value=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
                        created_at=dt.datetime.now(dt.UTC),
                    )
                )
        except IntegrityError:
            pass  # another node created it first: read theirs
        with engine.connect() as conn:
            value = conn.execute(
                select(IdpServerSecret.value).where(IdpServerSecret.name == name)
            ).scalar_one()
    return base64.urlsafe_b64decode(value)


class Sealer:
    """Seals a small JSON document for a purpose and a lifetime; opens only its own."""

    def __init__(self, secret: bytes) -> None:
        self._key = OctKey.import_key(secret)

    def seal(self, purpose: str, data: dict[str, Any], lifetime: int) -> str:
        """A compact JWE of ``data`` bound to ``purpose``, valid ``lifetime`` seconds."""
        body = json.dumps(
            {"p": purpose, "exp": int(time.time()) + lifetime, "d": data}, separators=(",", ":")
        ).encode()
        return jwe.encrypt_compact(
            {"alg": "dir", "enc": "A256GCM"}, body, self._key, registry=_REGISTRY
        )

    def open(self, purpose: str, token: str | None) -> dict[str, Any] | None:
        """The data sealed for ``purpose``, or None when absent, altered, foreign or expired."""
        if not token or len(token) > 8192:
            return None
        try:
            obj = jwe.decrypt_compact(token, self._key, registry=_REGISTRY)
            body = json.loads(obj.plaintext or b"")
        except (JoseError, ValueError, TypeError):
            return None
        if not isinstance(body, dict) or body.get("p") != purpose:
            return None
        exp = body.get("exp")
        if not isinstance(exp, int) or exp < time.time():
            return None
        data = body.get("d")
        return data if isinstance(data, dict) else None
