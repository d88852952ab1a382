"""The enrolment gate: only pupils enrolled in a partner school get in."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class GateDecision:
    admitted: bool
    reason: str  # "partner_school", "no_enrolment", "no_partner_school"
    matching_schools: tuple[str, ...] = ()


def enrolment_gate(orgcodes: Iterable[str], partner_schools: Iterable[str]) -> GateDecision:
    """Preamble D, art. 3: access only when an enrolment is in a school of the agreement."""
    enrolled = {code.strip() for code in orgcodes if code.strip()}
    if not enrolled:
        return GateDecision(False, "no_enrolment")
    matching = tuple(sorted(enrolled & set(partner_schools)))
    if not matching:
        return GateDecision(False, "no_partner_school")
    return GateDecision(True, "partner_school", matching)
