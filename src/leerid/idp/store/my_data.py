"""Art. 7 and GDPR art. 15 for the pupil: what was disclosed about them, and their report.

The pupil's own page (``/op/v1/mijn-gegevens``) shows every release of their data to every
service provider, under every account they have or had (temporary accounts retired at
identification and merged pupils included: the disclosure log's ``pupil_history``), with the
service's name and the protocol version the release was made under.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from leerid.idp.store.disclosures import pupil_history
from leerid.idp.store.models import IdpClient
from leerid.idp.store.protocols import ProtocolVersion

__all__ = ["MyDisclosure", "my_disclosures"]


@dataclass(frozen=True)
class MyDisclosure:
    """One release of the pupil's data, as their page shows it."""

    at: dt.datetime
    client_id: str
    client_name: str
    claims: tuple[str, ...]
    protocol_id: str | None
    protocol_version: int | None


def my_disclosures(engine: Engine, account_uuid: str, limit: int = 500) -> list[MyDisclosure]:
    """The releases of the data of the pupil who owns ``account_uuid``, newest first."""
    records = [
        r
        for r in pupil_history(engine, account_uuid=account_uuid, client_id=None, limit=limit)
        if r.outcome == "released"
    ]
    clients = {r.client_id for r in records}
    hashes = {r.protocol_hash for r in records if r.protocol_hash}
    with Session(engine) as session:
        names: dict[str, str] = dict(
            session.execute(
                select(IdpClient.client_id, IdpClient.name).where(
                    IdpClient.client_id.in_(sorted(clients))
                )
            ).all()
        )
        versions = {
            (pid, digest): version
            for pid, digest, version in session.execute(
                select(
                    ProtocolVersion.protocol_id,
                    ProtocolVersion.content_hash,
                    ProtocolVersion.version,
                ).where(ProtocolVersion.content_hash.in_(sorted(hashes)))
            ).all()
        }
    return [
        MyDisclosure(
            at=r.at,
            client_id=r.client_id,
            client_name=names.get(r.client_id, r.client_id),
            claims=r.claims,
            protocol_id=r.protocol_id,
            protocol_version=versions.get((r.protocol_id or "", r.protocol_hash or "")),
        )
        for r in records
    ]
