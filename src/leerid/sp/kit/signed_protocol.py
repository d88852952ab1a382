"""The protocol as the recipient judges it: the newest version both parties signed, as the
Department announced it, and the protocol's end; never a local file DOV has not signed.

Art. 11: a version is in force from the later of the two parties' signatures. The kit stores
an announced version only when its text loads to exactly the announced content hash and both
parties' signatures are listed; otherwise the protocol is *out of step* (staff and the DPO
see why, pupils cannot log in) until a matching newer version arrives. The local
``[protocol] file`` only names the protocol (its id) and is compared with the signed version
(a differing file is shown as stale). Art. 8 and 11: once the recorded end is effective, no
new logins and no staff access to disclosed data; retention and purge go on.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leerid.protocol import Protocol, ProtocolError, content_hash, parse_protocol, status
from leerid.protocol.lifecycle import ProtocolStatus, in_force_from
from leerid.protocol.parties import PartyRole, Signature
from leerid.protocol.status_changes import EndGround, StatusChange, StatusChangeKind, with_ending
from leerid.sp.kit import privacy_log
from leerid.sp.kit.models import ProtocolEnd, ProtocolOutOfStep, SignedProtocolVersion
from leerid.sp.kit.set_verify import SetRejected

PARTIES = frozenset(p.value for p in PartyRole)
ENDS = {"terminated": StatusChangeKind.TERMINATED, "ended": StatusChangeKind.ENDED}
GROUNDS = ("sanction", "term", "legal-basis")


def aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)  # SQLite: no offset


def _moment(value: Any, name: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise SetRejected("invalid_request", f"{name} is not an ISO 8601 moment") from None
    return aware(moment)


def _text(event: Mapping[str, Any], name: str, limit: int = 100) -> str:
    value = event.get(name)
    if not isinstance(value, str) or not value or len(value) > limit:
        raise SetRejected("invalid_request", f"{name} is missing or too long")
    return value


@dataclass(frozen=True)
class SignedVersion:
    """A stored signed version: the model with the announced signatures in its block."""

    protocol_id: str
    version: int
    content_sha256: str
    in_force_from: dt.datetime
    protocol: Protocol


@dataclass(frozen=True)
class Ending:
    kind: str
    ground: str
    reason: str
    effective_at: dt.datetime


@dataclass(frozen=True)
class ProtocolState:
    """What the kit knows of its protocol at one moment (art. 8, 11)."""

    local: Protocol
    signed: SignedVersion | None
    out_of_step: str | None  # the reason, when a newer announced version did not match
    ending: Ending | None

    @property
    def protocol(self) -> Protocol:
        """The protocol the kit works by: the signed version (with its end), else the local
        file for the roles and terms only (no disclosure is admitted on it)."""
        if self.signed is None:
            return self.local
        protocol = self.signed.protocol
        if self.ending is not None:
            change = StatusChange(
                kind=ENDS[self.ending.kind],
                effective=self.ending.effective_at,
                reason=self.ending.reason,
                by=PartyRole.DISCLOSER if self.ending.kind == "terminated" else None,
                ground=None if self.ending.ground == "sanction" else EndGround(self.ending.ground),
            )
            changes = with_ending(protocol.status_changes, change)
            protocol = protocol.model_copy(update={"status_changes": changes})
        return protocol

    @property
    def local_stale(self) -> bool:
        """The local file differs from the version DOV signed (shown to staff and the DPO)."""
        return self.signed is not None and content_hash(self.local) != self.signed.content_sha256

    def ended(self, at: dt.datetime) -> bool:
        return self.ending is not None and self.ending.effective_at <= at

    def refusal(self, at: dt.datetime) -> str | None:
        """Why no disclosure may be used at ``at`` (a reason code), or None when in force."""
        if self.ended(at):
            return f"protocol_{self.ending.kind}" if self.ending else None
        if self.out_of_step is not None:
            return "protocol_out_of_step"
        if self.signed is None:
            return "protocol_not_confirmed"
        if status(self.protocol, at) is not ProtocolStatus.IN_FORCE:
            return "protocol_not_in_force"
        return None


def _signatures(event: Mapping[str, Any]) -> tuple[list[dict[str, str]], tuple[Signature, ...]]:
    listed = event.get("signatures")
    if not isinstance(listed, list):
        raise SetRejected("invalid_request", "signatures is not a list")
    raw, signatures = [], []
    for item in listed:
        if not isinstance(item, dict) or item.get("party") not in PARTIES:
            raise SetRejected("invalid_request", "a signature names no known party")
        signed_at = _moment(item.get("signed_at"), "signed_at")
        signer = str(item.get("signer") or "")[:200] or "onbekend"
        kind = str(item.get("kind") or "")[:20]
        raw.append(
            {"party": item["party"], "signer": signer, "kind": kind, "signed_at": str(signed_at)}
        )
        signatures.append(
            Signature(party=PartyRole(item["party"]), name=signer, signed_at=signed_at)
        )
    return raw, tuple(signatures)


def mismatch(text: str, content_sha256: str, parties: set[str]) -> str | None:
    """Art. 11: why an announced version cannot be taken in (None when it can)."""
    try:
        loaded = parse_protocol(text, "de ontvangen tekst")
    except ProtocolError as exc:
        return f"de tekst is geen geldig protocol ({len(exc.problems)} problemen)"
    if content_hash(loaded) != content_sha256:
        return "de tekst past niet bij de ondertekende inhoudshash"
    missing = PARTIES - parties
    if missing:
        return "de handtekening van " + " en ".join(sorted(missing)) + " ontbreekt"
    return None


def store_version(session: Session, event: Mapping[str, Any], now: dt.datetime) -> None:
    """Art. 11: take in an announced signed version, or record that it is out of step."""
    protocol_id = _text(event, "protocol_id")
    version, digest = event.get("version"), _text(event, "content_sha256", 64)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise SetRejected("invalid_request", "version is not a positive whole number")
    text = event.get("text")
    if not isinstance(text, str):
        raise SetRejected("invalid_request", "text is missing")
    raw, _ = _signatures(event)
    detail = {"protocol": protocol_id, "versie": version, "inhoudshash": digest}
    reason = mismatch(text, digest, {s["party"] for s in raw})
    if reason is not None:
        session.add(
            ProtocolOutOfStep(
                protocol_id=protocol_id,
                version=version,
                content_sha256=digest,
                reason=reason,
                received_at=now,
            )
        )
        privacy_log.append(
            session,
            actor="departement",
            action="protocol_niet_in_de_pas",
            purpose="art. 11: aangekondigde versie niet overgenomen",
            detail={**detail, "reden": reason},
        )
        return
    known = session.scalars(
        select(SignedProtocolVersion).where(
            SignedProtocolVersion.protocol_id == protocol_id,
            SignedProtocolVersion.version == version,
        )
    ).first()
    if known is None:
        session.add(
            SignedProtocolVersion(
                protocol_id=protocol_id,
                version=version,
                content_sha256=digest,
                in_force_from=_moment(event.get("in_force_from"), "in_force_from"),
                signatures=json.dumps(raw, sort_keys=True),
                text=text,
                received_at=now,
            )
        )
    privacy_log.append(
        session,
        actor="departement",
        action="protocolversie_ontvangen",
        purpose="art. 11: door beide partijen ondertekende versie van kracht",
        detail={**detail, "al_bekend": known is not None},
    )


def store_end(session: Session, event: Mapping[str, Any], now: dt.datetime) -> None:
    """Art. 8 (termination by DOV, by simple notice) and art. 11 (end): recorded, final."""
    protocol_id = _text(event, "protocol_id")
    kind, ground = event.get("kind"), event.get("ground")
    if kind not in ENDS or ground not in GROUNDS:
        raise SetRejected("invalid_request", "kind or ground of the end is not known")
    effective = _moment(event.get("effective_at"), "effective_at")
    reason = str(event.get("reason") or "")[:2000]
    if session.get(ProtocolEnd, protocol_id) is None:
        session.add(
            ProtocolEnd(
                protocol_id=protocol_id,
                kind=kind,
                ground=ground,
                reason=reason,
                effective_at=effective,
                received_at=now,
            )
        )
    privacy_log.append(
        session,
        actor="departement",
        action="protocol_beeindigd",
        purpose="art. 8, 11: einde van het protocol ontvangen; bewaren en vernietigen gaan door",
        detail={"protocol": protocol_id, "soort": kind, "grond": ground},
    )


def _signed(
    row: SignedProtocolVersion, cache: dict[tuple[str, int], SignedVersion]
) -> SignedVersion:
    key = (row.protocol_id, row.version)
    found = cache.get(key)
    if found is None:
        _, signatures = _signatures({"signatures": json.loads(row.signatures)})
        protocol = parse_protocol(row.text, f"{row.protocol_id} versie {row.version}")
        found = SignedVersion(
            protocol_id=row.protocol_id,
            version=row.version,
            content_sha256=row.content_sha256,
            in_force_from=aware(row.in_force_from),
            protocol=protocol.model_copy(update={"signatures": signatures}),
        )
        cache[key] = found
    return found


def judge(
    session: Session,
    local: Protocol,
    at: dt.datetime,
    cache: dict[tuple[str, int], SignedVersion],
) -> ProtocolState:
    """The state of the protocol named by ``local`` at ``at``: the newest signed version in
    force (else the newest stored), whether a newer announcement is out of step, its end."""
    rows = session.scalars(
        select(SignedProtocolVersion)
        .where(SignedProtocolVersion.protocol_id == local.id)
        .order_by(SignedProtocolVersion.version)
    ).all()
    versions = [_signed(row, cache) for row in rows]
    started = [v for v in versions if (s := in_force_from(v.protocol)) is not None and s <= at]
    signed = started[-1] if started else (versions[-1] if versions else None)
    newest = versions[-1].version if versions else 0
    out = session.scalars(
        select(ProtocolOutOfStep)
        .where(ProtocolOutOfStep.protocol_id == local.id, ProtocolOutOfStep.version > newest)
        .order_by(ProtocolOutOfStep.id.desc())
        .limit(1)
    ).first()
    end = session.get(ProtocolEnd, local.id)
    ending = (
        None if end is None else Ending(end.kind, end.ground, end.reason, aware(end.effective_at))
    )
    return ProtocolState(local, signed, None if out is None else out.reason, ending)


def newest_received(session: Session) -> dt.datetime | None:
    """When the kit last took in a signed version (for the DPO's page)."""
    moment = session.scalar(select(func.max(SignedProtocolVersion.received_at)))
    return None if moment is None else aware(moment)
