"""The console's client list (issue 13): each client with its protocol, redirect URIs, keys
(kid and alg, never the key material) and its last activity.

Last activity is one indexed read per client: the newest disclosure of the client
(``ix_idp_disclosure_client_id_at``), else, when the disclosure log was purged, the newest
day of the per-day counts (``ix_idp_disclosure_day_client_day``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select

from leerid.idp.store.clients import Client, list_clients
from leerid.idp.store.console_tables import DisclosureDay
from leerid.idp.store.models import Disclosure

__all__ = ["ClientLine", "KeyLine", "client_lines"]


@dataclass(frozen=True)
class KeyLine:
    """A public key the client registered: how it is named and used, not the key itself."""

    kid: str
    alg: str
    kty: str
    use: str


@dataclass(frozen=True)
class ClientLine:
    client: Client
    keys: tuple[KeyLine, ...]
    last_activity: dt.datetime | None
    last_day: dt.date | None


def _keys(jwks: dict[str, Any] | None) -> tuple[KeyLine, ...]:
    found = []
    for key in (jwks or {}).get("keys", []):
        if isinstance(key, dict):
            found.append(
                KeyLine(
                    str(key.get("kid", "—")),
                    str(key.get("alg", "—")),
                    str(key.get("kty", "—")),
                    str(key.get("use", "—")),
                )
            )
    return tuple(found)


def client_lines(engine: Engine) -> list[ClientLine]:
    """Every client, oldest first, with its keys and last activity."""
    clients = list_clients(engine)
    lines = []
    with engine.connect() as conn:
        for client in clients:
            last = conn.scalar(
                select(func.max(Disclosure.at)).where(Disclosure.client_id == client.client_id)
            )
            day = None
            if last is None:
                day = conn.scalar(
                    select(func.max(DisclosureDay.day)).where(
                        DisclosureDay.client_id == client.client_id
                    )
                )
            lines.append(ClientLine(client, _keys(client.jwks), last, day))
    return lines
