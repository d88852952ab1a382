"""Status over time: draft, advised, signed, in force (art. 11), terminated (art. 8), ended."""

from __future__ import annotations

import datetime as dt

import pytest

from leerid.protocol import ProtocolStatus, permits_disclosure, status
from tests.protocol.helpers import seed, seed_data, variant

CET = dt.timezone(dt.timedelta(hours=1))


def at(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=CET)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("2022-11-06T12:00", ProtocolStatus.DRAFT),
        ("2023-06-01T12:00", ProtocolStatus.DRAFT),  # only DOV's DPO advised (preamble F)
        ("2024-02-22T00:00", ProtocolStatus.ADVISED),  # both DPOs (preamble G)
        ("2024-02-29T09:31:27", ProtocolStatus.ADVISED),
        ("2024-02-29T09:31:28", ProtocolStatus.SIGNED),  # the service provider signed
        ("2024-03-25T14:40:37", ProtocolStatus.SIGNED),
        ("2024-03-25T14:40:38", ProtocolStatus.IN_FORCE),  # art. 11: both signed
        ("2030-01-01T00:00", ProtocolStatus.IN_FORCE),  # art. 5: indefinite
    ],
)
def test_seed_status_over_time(moment: str, expected: ProtocolStatus) -> None:
    assert status(seed(), at(moment)) is expected
    assert permits_disclosure(seed(), at(moment)) is (expected is ProtocolStatus.IN_FORCE)


def test_termination_by_dov() -> None:
    """Art. 8: DOV ends the protocol by simple notice; from that moment nothing is disclosed."""
    protocol = variant(
        status_changes=[
            {
                "kind": "terminated",
                "effective": "2025-06-30T17:00:00+02:00",
                "reason": "Verwerking in strijd met art. 4 (art. 8)",
                "by": "discloser",
                "reference": "Kennisgeving 2025/17",
            },
        ]
    )
    assert status(protocol, at("2025-06-30T16:59:59+02:00")) is ProtocolStatus.IN_FORCE
    assert status(protocol, at("2025-06-30T17:00:00+02:00")) is ProtocolStatus.TERMINATED
    assert not permits_disclosure(protocol, at("2040-01-01T00:00"))


@pytest.mark.parametrize("by", ["recipient", None])
def test_a_termination_not_by_dov_is_refused(by: str | None) -> None:
    """Art. 8 gives the right to terminate to DOV alone; the error says what to write."""
    change = {"kind": "terminated", "effective": "2025-06-30T17:00:00+02:00", "reason": "r"}
    if by is not None:
        change["by"] = by
    with pytest.raises(ValueError, match=r"art\. 8 gives the right to terminate") as refused:
        variant(status_changes=[change])
    assert "by: discloser" in str(refused.value) and "kind: ended" in str(refused.value)


@pytest.mark.parametrize("kind", ["suspended", "resumed"])
def test_suspension_is_not_in_the_seed_and_is_refused(kind: str) -> None:
    """Art. 8 and 11 know termination and end, no suspension: the error names both."""
    change = {"kind": kind, "effective": "2025-01-10T08:00:00+01:00", "reason": "r"}
    with pytest.raises(ValueError, match="no suspension") as refused:
        variant(status_changes=[change])
    assert "'terminated'" in str(refused.value) and "'ended'" in str(refused.value)


def test_end_of_the_term_of_article_5_ends_the_protocol() -> None:
    """Art. 11: the protocol ends by law when the communication of art. 5 ends."""
    data = seed_data()
    data["communication"] = {**data["communication"], "indefinite": False, "ends_on": "2026-08-31"}
    protocol = variant(communication=data["communication"])
    assert status(protocol, at("2026-08-31T23:59:59+02:00")) is ProtocolStatus.IN_FORCE
    assert status(protocol, at("2026-09-01T00:00:00+02:00")) is ProtocolStatus.ENDED


def test_ended_by_status_change_when_the_legal_ground_goes() -> None:
    protocol = variant(
        status_changes=[
            {
                "kind": "ended",
                "effective": "2027-01-01T00:00:00+01:00",
                "reason": "Geen rechtsgrond meer voor de mededeling (art. 11)",
            }
        ]
    )
    assert status(protocol, at("2027-01-01T00:00")) is ProtocolStatus.ENDED


def test_a_later_start_date_delays_entry_into_force() -> None:
    data = seed_data()
    protocol = variant(entry_into_force={**data["entry_into_force"], "not_before": "2024-09-01"})
    assert status(protocol, at("2024-06-01T12:00")) is ProtocolStatus.SIGNED
    assert status(protocol, at("2024-09-01T00:00:00+02:00")) is ProtocolStatus.IN_FORCE


def test_one_signature_is_not_enough() -> None:
    data = seed_data()
    protocol = variant(signatures=data["signatures"][:1])
    assert status(protocol, at("2030-01-01T00:00")) is ProtocolStatus.SIGNED
    unsigned = variant(signatures=[])
    assert status(unsigned, at("2030-01-01T00:00")) is ProtocolStatus.ADVISED


def test_a_moment_without_offset_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        status(seed(), dt.datetime(2025, 1, 1))
