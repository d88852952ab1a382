"""Doubtful content in a valid protocol: warnings for ``leerid protocol check`` (exit 0).

The model rejects what cannot be right; these checks point at what is allowed but probably
not meant, or what a reader of the signed copy should verify.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from leerid.protocol.lifecycle import ProtocolStatus, in_force_from, start_of_day, status
from leerid.protocol.loading import FieldPath, LoadedProtocol, Problem
from leerid.protocol.model import AttributeKey, Party, PartyRole, Protocol

Warning = tuple[FieldPath, str]


def _warnings(protocol: Protocol, at: dt.datetime) -> list[Warning]:
    parties = {
        PartyRole.DISCLOSER: protocol.parties.discloser,
        PartyRole.RECIPIENT: protocol.parties.recipient,
    }
    return [
        *_insz_warnings(protocol),
        *_dpo_warnings(parties),
        *_signature_warnings(protocol, parties),
        *_status_warnings(protocol, at),
        *_art5_warnings(protocol),
    ]


def _insz_warnings(protocol: Protocol) -> Iterator[Warning]:
    """Art. 3: an INSZ listed without a decretal basis is never released."""
    insz_index = next(
        (i for i, a in enumerate(protocol.data.attributes) if a.key is AttributeKey.INSZ), None
    )
    if insz_index is not None and not protocol.decretal_basis.present:
        yield (
            ("decretal_basis", "present"),
            "INSZ is listed (art. 3) but the recipient has no decretal basis, so the INSZ "
            "is never released and scope 'rrn' is refused; if the recipient has one, set "
            "present: true with its reference",
        )


def _dpo_warnings(parties: dict[PartyRole, Party]) -> Iterator[Warning]:
    """Each party's DPO: a contact for the art. 30 register and an advice (preamble F, G)."""
    for role, party in parties.items():
        if not party.dpo.contact:
            yield (
                ("parties", role.value, "dpo"),
                f"no contact for the DPO of {party.short_name}: the record of processing "
                "(GDPR art. 30) needs one; add dpo.contact when known",
            )
        if party.dpo.advice_date is None:
            yield (
                ("parties", role.value, "dpo", "advice_date"),
                f"the DPO of {party.short_name} has not advised yet: the protocol stays a "
                "draft until both DPOs have advised",
            )


def _signature_warnings(protocol: Protocol, parties: dict[PartyRole, Party]) -> Iterator[Warning]:
    """Art. 11: signatures that a reader of the signed copy should verify."""
    for index, signature in enumerate(protocol.signatures):
        party = parties[signature.party]
        advice = party.dpo.advice_date
        if advice is not None and signature.signed_at < start_of_day(advice):
            yield (
                ("signatures", index, "signed_at"),
                f"{party.short_name} signed before its DPO advised ({advice.isoformat()}); "
                "check both dates on the signed copy",
            )
        if signature.certificate_name and signature.certificate_name != signature.name:
            yield (
                ("signatures", index, "certificate_name"),
                f"the digital signature names {signature.certificate_name!r}, the signature "
                f"block {signature.name!r}: check that the right person signed",
            )
        names = {r.name.casefold() for r in party.representatives}
        if signature.name.casefold() not in names:
            yield (
                ("signatures", index, "name"),
                f"{signature.name!r} signs for {party.short_name} but is not among its "
                "representatives; add them or check the signature",
            )
        if signature.signed_at.date() < protocol.date:
            yield (
                ("signatures", index, "signed_at"),
                f"signed before the date of the protocol ({protocol.date.isoformat()})",
            )


def _status_warnings(protocol: Protocol, at: dt.datetime) -> Iterator[Warning]:
    """Status changes before entry into force, and a protocol not in force at ``at``."""
    start = in_force_from(protocol)
    for index, change in enumerate(protocol.status_changes):
        if start is None or change.effective < start:
            yield (
                ("status_changes", index, "effective"),
                f"{change.kind.value} takes effect before the protocol is in force; check the date",
            )
    now = status(protocol, at)
    if now is not ProtocolStatus.IN_FORCE:
        yield (
            ("status_changes",) if protocol.status_changes else ("signatures",),
            f"not in force on {at.date().isoformat()} (status: {now.value}): no data is "
            "disclosed under it",
        )


def _art5_warnings(protocol: Protocol) -> Iterator[Warning]:
    """Art. 5: disclosure without a login (refresh tokens) needs a basis in the text."""
    communication = protocol.communication
    if communication.disclosure_without_login:  # periodicity is always at_every_login
        yield (
            ("communication", "disclosure_without_login"),
            "disclosure without a login is allowed (clients may get refresh tokens, scope "
            f"offline_access), yet the periodicity is {communication.periodicity.value}: "
            "set it to false unless the signed text of art. 5 gives a basis",
        )


def check_protocol(loaded: LoadedProtocol, at: dt.datetime) -> list[Problem]:
    """Warnings for a valid protocol, each with its field path and line."""
    return [
        Problem(loaded.source, path, loaded.line_of(path), message)
        for path, message in _warnings(loaded.protocol, at)
    ]
