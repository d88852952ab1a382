"""The enrolment gate: only pupils enrolled in a partner school get in."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from leerid.sp.kit.orgcode import normalise_orgcode

log = logging.getLogger("leerid.sp.gate")


@dataclass(frozen=True)
class GateDecision:
    admitted: bool
    reason: str  # "partner_school", "no_enrolment", "no_partner_school"
    matching_schools: tuple[str, ...] = ()


def enrolment_gate(orgcodes: Iterable[str], partner_schools: Iterable[str]) -> GateDecision:
    """Preamble D, art. 3: access only when an enrolment is in a school of the agreement."""
    enrolled: set[str] = set()
    for code in orgcodes:
        normal = normalise_orgcode(code)
        if normal is None:  # logged without the value: it is the pupil's data
            log.warning("ov_orgcode refused: not an instellingsnummer (6 digits)")
        else:
            enrolled.add(normal)
    if not enrolled:
        return GateDecision(False, "no_enrolment")
    partners = {n for n in map(normalise_orgcode, partner_schools) if n is not None}
    matching = tuple(sorted(enrolled & partners))
    if not matching:
        return GateDecision(False, "no_partner_school")
    return GateDecision(True, "partner_school", matching)
