"""The provider's cached protocol status equals the lifecycle's at every moment (art. 11)."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leerid.idp.release import BoundProtocol, status_boundaries
from leerid.protocol import Protocol, load_protocol, status
from leerid.protocol.lifecycle import BRUSSELS
from leerid.protocol.model import StatusChange, StatusChangeKind

SEED = load_protocol(Path(__file__).resolve().parents[2] / "protocols" / "dov-lars-glce-2024.yaml")
UTC = dt.UTC


def _change(kind: StatusChangeKind, effective: dt.datetime) -> StatusChange:
    return StatusChange.model_construct(kind=kind, effective=effective, reason=(), by=None)


def _variants() -> list[Protocol]:
    """The seed and versions of it with a termination (art. 8), an end (art. 11), an early one."""
    ended = SEED.model_copy(
        update={
            "communication": SEED.communication.model_copy(
                update={"indefinite": False, "ends_on": dt.date(2027, 8, 31)}
            )
        }
    )
    changed = SEED.model_copy(
        update={
            "status_changes": (
                _change(StatusChangeKind.TERMINATED, dt.datetime(2026, 6, 30, 22, 0, tzinfo=UTC)),
            )
        }
    )
    terminated_early = SEED.model_copy(
        update={
            "status_changes": (
                _change(StatusChangeKind.TERMINATED, dt.datetime(2024, 3, 1, 12, 0, tzinfo=UTC)),
            )
        }
    )
    return [SEED, ended, changed, terminated_early]


def _probes(protocol: Protocol) -> list[dt.datetime]:
    """Each boundary, a microsecond before and after it, and moments far from all of them."""
    tick = dt.timedelta(microseconds=1)
    moments = [dt.datetime(2000, 1, 1, tzinfo=UTC), dt.datetime(2100, 1, 1, tzinfo=UTC)]
    for boundary in status_boundaries(protocol):
        moments += [boundary - tick, boundary, boundary + tick]
    return moments


@pytest.mark.parametrize("protocol", _variants(), ids=["seed", "ends_on", "changes", "early"])
@settings(max_examples=30, deadline=None)
@given(order=st.randoms(use_true_random=False))
def test_cached_status_is_the_lifecycle_status_at_every_boundary(
    protocol: Protocol, order: random.Random
) -> None:
    """Art. 11: asked in any order, around every date of the lifecycle, the cache never answers
    with the status of another stretch of time."""
    probes = _probes(protocol)
    order.shuffle(probes)
    bound = BoundProtocol("p", 1, "h", protocol)
    for moment in probes + probes:  # the second pass answers from the cache where it can
        assert bound.status_at(moment) == status(protocol, moment).value, moment


def test_boundaries_include_the_changes_and_the_end_of_the_term() -> None:
    """Art. 5, 8 and 11: a termination and the day after ``ends_on`` are boundaries."""
    ended, changed = _variants()[1:3]
    assert status_boundaries(ended)[-1] == dt.datetime(2027, 9, 1, tzinfo=BRUSSELS)
    assert {c.effective for c in changed.status_changes} <= set(status_boundaries(changed))
