"""The console's protocol timeline (issue 13): every protocol with each stored version, its
hash, its recorded signatures (who, when, valid or why not) and its status now.

A version is read as it binds (art. 11): signed only by what was recorded over its hash
(``signed_versions``), with the protocol's recorded end (art. 8, 11) applied to every
version, and marked when clients are bound to it now (``bound_version``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from leerid.idp.store.endings import find_ending
from leerid.idp.store.protocols import ProtocolVersion, bound_version, signed_versions
from leerid.idp.store.signatures import judged_signatures
from leerid.protocol.lifecycle import STATUS_DUTCH, in_force_from, status
from leerid.protocol.status_changes import with_ending

__all__ = ["ProtocolLine", "SignatureLine", "VersionLine", "awaiting_signature", "timeline"]

PARTY_DUTCH = {"discloser": "DOV", "recipient": "ontvanger"}


@dataclass(frozen=True)
class SignatureLine:
    """One recorded signature or attestation of a version."""

    party: str
    signer: str
    kind: str
    at: dt.datetime
    valid: bool
    reason: str


@dataclass(frozen=True)
class VersionLine:
    """One stored version on the timeline."""

    version: int
    content_hash: str
    added_at: dt.datetime
    added_by: str | None
    status: str  # ProtocolStatus value
    status_nl: str
    in_force_from: dt.datetime | None
    binding: bool
    signatures: tuple[SignatureLine, ...]


@dataclass(frozen=True)
class ProtocolLine:
    """One protocol: its id, title and recipient, its versions newest first."""

    protocol_id: str
    title: str
    recipient: str
    versions: tuple[VersionLine, ...]
    ended: str | None  # the recorded end, in words, or None


def _protocol(session: Session, protocol_id: str, now: dt.datetime) -> ProtocolLine:
    versions = signed_versions(session, protocol_id)
    hashes = {v.version: v.content_hash for v in versions}
    judged = judged_signatures(session, protocol_id, hashes)
    ending = find_ending(session, protocol_id)
    bound = bound_version(session, protocol_id, now)
    lines = []
    for stored in reversed(versions):
        protocol = stored.protocol
        if ending is not None:  # art. 8, 11: an end holds for every version
            changes = with_ending(protocol.status_changes, ending.status_change())
            protocol = protocol.model_copy(update={"status_changes": changes})
        now_status = status(protocol, now).value
        signatures = tuple(
            SignatureLine(
                PARTY_DUTCH.get(j.party, j.party),
                j.signer or j.operator,
                j.kind,
                j.effective,
                j.verdict.valid,
                j.verdict.reason,
            )
            for j in judged
            if j.version == stored.version
        )
        lines.append(
            VersionLine(
                stored.version,
                stored.content_hash,
                stored.added_at,
                stored.added_by,
                now_status,
                STATUS_DUTCH.get(now_status, now_status),
                in_force_from(protocol),
                bound is not None and bound.version == stored.version,
                signatures,
            )
        )
    newest = versions[-1].protocol
    ended = None
    if ending is not None:
        ended = f"{STATUS_DUTCH.get(ending.kind.value, ending.kind.value)}: {ending.reason}"
    return ProtocolLine(
        protocol_id, str(newest.title), newest.parties.recipient.name, tuple(lines), ended
    )


def timeline(engine: Engine, now: dt.datetime) -> list[ProtocolLine]:
    """Every protocol, by id, with its versions (newest first) as they stand at ``now``."""
    with Session(engine) as session:
        ids = list(
            session.scalars(
                select(ProtocolVersion.protocol_id).distinct().order_by(ProtocolVersion.protocol_id)
            )
        )
        return [_protocol(session, protocol_id, now) for protocol_id in ids]


def awaiting_signature(engine: Engine, now: dt.datetime) -> list[str]:
    """Versions not yet signed by both parties nor ended: ``"id versie N"`` each."""
    waiting = []
    for line in timeline(engine, now):
        for version in line.versions:
            if version.in_force_from is None and version.status in ("draft", "advised", "signed"):
                waiting.append(f"{line.protocol_id} versie {version.version}")
    return waiting
