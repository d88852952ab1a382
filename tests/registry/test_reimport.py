"""Importing the same files twice changes nothing and mints nothing (issue 2 §4), whatever
the registry held before: hypothesis draws a sequence of small imports on one database."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from leerid.registry.importer import import_registry
from tests.registry.conftest import national_number, snapshot, write_folder

BIRTHS = [dt.date(2010, 1, 1) + dt.timedelta(days=40 * i) for i in range(3)]
PEOPLE = [(national_number(b, 9), b) for b in BIRTHS] + [
    (national_number(b, 9, bis=True), b) for b in BIRTHS
]
PUPIL_ROW = st.tuples(
    st.sampled_from(["R1", "R2", "R3", "R4"]),
    st.sampled_from([None, *range(len(PEOPLE))]),
    st.sampled_from(["Peeters", "Claes"]),
)
ENROLMENT_ROW = st.tuples(
    st.sampled_from(["R1", "R2", "R3", "R4", "R5"]),
    st.sampled_from(["012345", "054321", "1"]),
    st.sampled_from(["2026-09-01", "2026-10-01"]),
)
counter = itertools.count()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(PUPIL_ROW, max_size=6), st.lists(ENROLMENT_ROW, max_size=6))
def test_importing_twice_changes_nothing(
    engine: Engine,
    tmp_path: Path,
    pupils: list[tuple[str, int | None, str]],
    enrolments: list[tuple[str, str, str]],
) -> None:
    rows = []
    for referte, person, naam in pupils:
        insz, born = ("", BIRTHS[0]) if person is None else PEOPLE[person]
        rows.append([referte, insz, naam, "An", born.isoformat()])
    folder = write_folder(
        tmp_path / f"in{next(counter)}",
        rows,
        [[ref, school, "000001", begin, ""] for ref, school, begin in enrolments],
    )
    first = import_registry(engine, folder)
    state = snapshot(engine)
    second = import_registry(engine, folder)
    assert snapshot(engine) == state
    assert second.registrations_created == second.registrations_updated == 0
    assert second.accounts_created == second.pupils_identified == 0
    assert second.rejects == first.rejects
