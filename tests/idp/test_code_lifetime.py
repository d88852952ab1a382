"""Codes are exchanged within 30 seconds (ACM/IDM; RFC 6749 §4.1.2 "short lifetime")."""

from __future__ import annotations

import datetime as dt

import pytest
from authlib.integrations.base_client.errors import OAuthError as AuthlibOAuthError
from sqlalchemy import select, update

from leerid.idp.store.models import IdpGrant
from leerid.store.engine import make_engine
from tests.idp.flow import full_login
from tests.idp_server import RunningIdp


def _open_codes(idp: RunningIdp) -> list[IdpGrant]:
    engine = make_engine(idp.database_url)
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    select(IdpGrant).where(
                        IdpGrant.code_hash.is_not(None), IdpGrant.code_used_at.is_(None)
                    )
                ).all()
            )
    finally:
        engine.dispose()


def test_a_code_lives_30_seconds_and_is_refused_after(idp: RunningIdp) -> None:
    before = {g.id for g in _open_codes(idp)}
    rp, _, auth, location = full_login(idp)
    (grant,) = [g for g in _open_codes(idp) if g.id not in before]
    assert grant.code_expires_at is not None
    lifetime = grant.code_expires_at - grant.created_at
    assert lifetime == dt.timedelta(seconds=30)

    # The code's 30 seconds pass (moved in the database instead of waiting).
    engine = make_engine(idp.database_url)
    with engine.begin() as conn:
        conn.execute(
            update(IdpGrant)
            .where(IdpGrant.id == grant.id)
            .values(code_expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    engine.dispose()
    with pytest.raises(AuthlibOAuthError) as late:
        rp.fetch_token(location, auth.verifier)
    assert late.value.error == "invalid_grant"
