"""Doubtful content in a valid protocol: warnings for ``leerid protocol check`` (exit 0).

The model rejects what cannot be right; these checks point at what is allowed but probably
not meant, or what a reader of the signed copy should verify.
"""

from __future__ import annotations

import datetime as dt

from leerid.protocol.lifecycle import ProtocolStatus, in_force_from, start_of_day, status
from leerid.protocol.loading import FieldPath, LoadedProtocol, Problem
from leerid.protocol.model import AttributeKey, PartyRole, Protocol


def _warnings(protocol: Protocol, at: dt.datetime) -> list[tuple[FieldPath, str]]:
    found: list[tuple[FieldPath, str]] = []
    insz_index = next(
        (i for i, a in enumerate(protocol.data.attributes) if a.key is AttributeKey.INSZ), None
    )
    if insz_index is not None and not protocol.decretal_basis.present:
        found.append(
            (
                ("decretal_basis", "present"),
                "INSZ is listed (art. 3) but the recipient has no decretal basis, so the INSZ "
                "is never released and scope 'rrn' is refused; if the recipient has one, set "
                "present: true with its reference",
            )
        )
    parties = {
        PartyRole.DISCLOSER: protocol.parties.discloser,
        PartyRole.RECIPIENT: protocol.parties.recipient,
    }
    for role, party in parties.items():
        if not party.dpo.contact:
            found.append(
                (
                    ("parties", role.value, "dpo"),
                    f"no contact for the DPO of {party.short_name}: the record of processing "
                    "(GDPR art. 30) needs one; add dpo.contact when known",
                )
            )
        if party.dpo.advice_date is None:
            found.append(
                (
                    ("parties", role.value, "dpo", "advice_date"),
                    f"the DPO of {party.short_name} has not advised yet: the protocol stays a "
                    "draft until both DPOs have advised",
                )
            )
    for index, signature in enumerate(protocol.signatures):
        party = parties[signature.party]
        advice = party.dpo.advice_date
        if advice is not None and signature.signed_at < start_of_day(advice):
            found.append(
                (
                    ("signatures", index, "signed_at"),
                    f"{party.short_name} signed before its DPO advised ({advice.isoformat()}); "
                    "check both dates on the signed copy",
                )
            )
        if signature.certificate_name and signature.certificate_name != signature.name:
            found.append(
                (
                    ("signatures", index, "certificate_name"),
                    f"the digital signature names {signature.certificate_name!r}, the signature "
                    f"block {signature.name!r}: check that the right person signed",
                )
            )
        names = {r.name.casefold() for r in party.representatives}
        if signature.name.casefold() not in names:
            found.append(
                (
                    ("signatures", index, "name"),
                    f"{signature.name!r} signs for {party.short_name} but is not among its "
                    "representatives; add them or check the signature",
                )
            )
        if signature.signed_at.date() < protocol.date:
            found.append(
                (
                    ("signatures", index, "signed_at"),
                    f"signed before the date of the protocol ({protocol.date.isoformat()})",
                )
            )
    start = in_force_from(protocol)
    for index, change in enumerate(protocol.status_changes):
        if start is None or change.effective < start:
            found.append(
                (
                    ("status_changes", index, "effective"),
                    f"{change.kind.value} takes effect before the protocol is in force; "
                    "check the date",
                )
            )
    now = status(protocol, at)
    if now is not ProtocolStatus.IN_FORCE:
        found.append(
            (
                ("status_changes",) if protocol.status_changes else ("signatures",),
                f"not in force on {at.date().isoformat()} (status: {now.value}): no data is "
                "disclosed under it",
            )
        )
    return found


def check_protocol(loaded: LoadedProtocol, at: dt.datetime) -> list[Problem]:
    """Warnings for a valid protocol, each with its field path and line."""
    return [
        Problem(loaded.source, path, loaded.line_of(path), message)
        for path, message in _warnings(loaded.protocol, at)
    ]
