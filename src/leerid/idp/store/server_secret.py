"""Secrets every node of the provider shares, stored once in the database.

Each is 32 random bytes in ``idp_server_secret``, made by the first node that needs it and
never replaced. ``OPAQUE_SUB_SECRET`` above all must never change: every opaque ``sub``
(issue 14 point 2, ``leerid.idp.oauth.subject``) is derived from it, so a new value would
give every pupil a new ``sub`` at every opaque client (docs/acm-compatibility.md).
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from leerid.idp.store.models import IdpServerSecret

__all__ = ["OPAQUE_SUB_SECRET", "load_server_secret"]

OPAQUE_SUB_SECRET = "opaque-sub"  # noqa: S105 - the name of a secret, not one
"""The key of the opaque ``sub`` (issue 14 point 2); back it up with the database."""


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
