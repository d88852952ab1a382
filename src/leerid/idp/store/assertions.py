"""RFC 7523 §3 (7): the ``jti`` of every client assertion seen, so that each is used once."""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import Engine, delete, insert
from sqlalchemy.exc import IntegrityError

from leerid.idp.oauth.rfc7523 import LEEWAY
from leerid.idp.store.models import IdpAssertionJti

__all__ = ["remember_jti"]


def remember_jti(engine: Engine, client_id: str, jti: str, exp: int) -> bool:
    """RFC 7523 §3 (7): a jti is accepted once; False when it was seen before."""
    key = hashlib.sha256(f"{client_id}\x00{jti}".encode()).hexdigest()
    now = dt.datetime.now(dt.UTC)
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(IdpAssertionJti).values(
                    key=key, expires_at=dt.datetime.fromtimestamp(exp + LEEWAY, dt.UTC)
                )
            )
    except IntegrityError:
        return False
    if hash(key) % 64 == 0:  # now and then, forget the expired ones
        with engine.begin() as conn:
            conn.execute(delete(IdpAssertionJti).where(IdpAssertionJti.expires_at < now))
    return True
