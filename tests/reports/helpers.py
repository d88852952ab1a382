"""Shared steps of the art. 6, 7 and 9 tests: a pupil's login through a client (which writes
the disclosure log, as in production), and the changes DOV recorded for the recipients."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from leerid.registry.changes import DovChange
from leerid.store.engine import make_engine
from tests.idp_server import REDIRECT_URI
from tests.login.oidc_flow import exchange, password_login


def log_in(issuer: str, client_id: str, secret: str, username: str, password: str) -> None:
    """A pupil logs in through ``client_id`` and the client redeems the code (a release)."""
    with httpx.Client() as client:
        code, verifier, nonce = password_login(
            client, issuer, client_id, REDIRECT_URI, username, password
        )
        exchange(client, issuer, client_id, secret, REDIRECT_URI, code, verifier, nonce)


def changes(database_url: str, kind: str) -> list[dict[str, Any]]:
    """The ``dov_change`` rows of ``kind``, oldest first, with their payload decoded."""
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            rows = session.scalars(
                select(DovChange).where(DovChange.kind == kind).order_by(DovChange.id)
            ).all()
            return [
                {
                    "client_id": r.client_id,
                    "leer_id_uuid": r.leer_id_uuid,
                    "account_uuids": json.loads(r.account_uuids),
                    "payload": json.loads(r.payload),
                    "txn": str(r.id),
                }
                for r in rows
            ]
    finally:
        engine.dispose()
