"""Issue 4 §5: the disclosure log — who received which attributes of a pupil, and when.

One record per release (ID token, userinfo, introspection that returns claims) and per
refusal, with the claim *names* only, never their values: it answers a pupil's GDPR art. 15
question "who received my data, when, which attributes".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from leerid.idp.hot_sql import HotStatement
from leerid.idp.models import Disclosure

__all__ = ["DisclosureRecord", "list_disclosures", "record_disclosure"]


@dataclass(frozen=True)
class DisclosureRecord:
    """One line of the log, as ``leerid disclosures list`` shows it."""

    at: dt.datetime
    client_id: str
    protocol_id: str | None
    protocol_hash: str | None
    leer_id_uuid: str | None
    account_uuid: str | None
    claims: tuple[str, ...]
    endpoint: str
    outcome: str
    reason: str | None

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict (time in ISO 8601)."""
        data = asdict(self)
        data["at"] = self.at.isoformat()
        data["claims"] = list(self.claims)
        return data


def disclosure_values(
    *,
    client_id: str,
    endpoint: str,
    claims: Iterable[str],
    protocol_id: str | None,
    protocol_hash: str | None,
    leer_id_uuid: str | None,
    account_uuid: str | None,
    outcome: str = "released",
    reason: str | None = None,
    at: dt.datetime | None = None,
) -> dict[str, Any]:
    """The column values of one record (claim names sorted, space-separated)."""
    return {
        "at": at or dt.datetime.now(dt.UTC),
        "client_id": client_id,
        "protocol_id": protocol_id,
        "protocol_hash": protocol_hash,
        "leer_id_uuid": leer_id_uuid,
        "account_uuid": account_uuid,
        "claims": " ".join(sorted(claims)),
        "endpoint": endpoint,
        "outcome": outcome,
        "reason": reason,
    }


_INSERT = HotStatement(insert(Disclosure))


def record_disclosure(conn: Connection, **fields: Any) -> None:
    """Write one record on ``conn`` (the caller commits)."""
    _INSERT(conn, disclosure_values(**fields))


def list_disclosures(
    engine: Engine,
    *,
    leer_id_uuid: str | None = None,
    account_uuid: str | None = None,
    client_id: str | None = None,
    limit: int = 1000,
) -> list[DisclosureRecord]:
    """The records for one pupil (by leer_id_uuid or account_uuid) or one client, newest first.

    A search by ``leer_id_uuid`` also finds the records written under that pupil's accounts.
    """
    stmt = select(Disclosure).order_by(Disclosure.at.desc(), Disclosure.id.desc()).limit(limit)
    if leer_id_uuid is not None:
        stmt = stmt.where(Disclosure.leer_id_uuid == leer_id_uuid)
    if account_uuid is not None:
        stmt = stmt.where(Disclosure.account_uuid == account_uuid)
    if client_id is not None:
        stmt = stmt.where(Disclosure.client_id == client_id)
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    out = []
    for row in rows:
        at = row.at if row.at.tzinfo else row.at.replace(tzinfo=dt.UTC)
        out.append(
            DisclosureRecord(
                at=at,
                client_id=row.client_id,
                protocol_id=row.protocol_id,
                protocol_hash=row.protocol_hash,
                leer_id_uuid=row.leer_id_uuid,
                account_uuid=row.account_uuid,
                claims=tuple(row.claims.split()) if row.claims else (),
                endpoint=row.endpoint,
                outcome=row.outcome,
                reason=row.reason,
            )
        )
    return out
