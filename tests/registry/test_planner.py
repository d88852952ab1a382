"""The import's planner on plain data (no database, no file): what changes, and what not."""

from __future__ import annotations

import copy
import datetime as dt
import itertools

from hypothesis import example, given, settings
from hypothesis import strategies as st

from leerid.registry.discimus import EnrolmentRow, PupilRow
from leerid.registry.identities import IdentityBook, apply_registration
from leerid.registry.importing.planner import (
    CREATED,
    HAS_ENROLMENTS,
    NO_ENROLMENTS,
    REJECTED,
    UNCHANGED,
    UPDATED,
    Enrolment,
    Planner,
    enrolments_digest,
    incoming_of,
)
from leerid.registry.importing.report import ImportSummary

BORN = dt.date(2012, 3, 4)
REFERTES = [f"R{n}" for n in range(1, 7)]

# (referte, insz, naam): a few values, so that rows meet the same refertes and INSZs.
pupil_rows = st.lists(
    st.tuples(
        st.sampled_from(REFERTES),
        st.sampled_from([None, "I1", "I2", "I3"]),
        st.sampled_from(["Peeters", "Claes"]),
    ),
    max_size=6,
    unique_by=lambda row: row[0],  # the reader passes the first row of a referte only
)


def rows_of(values: list[tuple[str, str | None, str]]) -> list[PupilRow]:
    return [
        PupilRow(line, referte, insz, naam, "An", BORN)
        for line, (referte, insz, naam) in enumerate(values, 2)
    ]


def stored_registry(values: list[tuple[str, str | None, str]]) -> IdentityBook:
    """A registry as the writer would load it: earlier imports applied, no pending changes."""
    ids, uuids = itertools.count(1), itertools.count(1)
    book = IdentityBook({}, {}, {}, lambda: next(ids), lambda: f"stored-{next(uuids)}")
    for incoming in incoming_of(rows_of(values)):
        apply_registration(book, incoming)
    return book


def loaded(stored: IdentityBook) -> IdentityBook:
    """A fresh copy of ``stored`` with deterministic ids and UUIDs and no changes yet."""
    start = max(stored.pupils, default=0) + 100
    ids, uuids = itertools.count(start), itertools.count(1)
    return IdentityBook(
        copy.deepcopy(stored.registrations),
        copy.deepcopy(stored.pupils),
        dict(stored.insz_owner),
        lambda: next(ids),
        lambda: f"new-{next(uuids)}",
    )


def plan_pupils(
    stored: IdentityBook, rows: list[PupilRow]
) -> tuple[Planner, IdentityBook, set[str]]:
    """Plan ``rows`` against ``stored`` as the importer does; the refertes refused."""
    plan = Planner(ImportSummary())
    book = loaded(stored)
    todo = plan.skip_unchanged(rows, incoming_of(rows), book.registrations)
    refused = plan.apply(book, todo)
    return plan, book, {r.referte for r in refused}


@settings(max_examples=300)
@given(before=pupil_rows, incoming=pupil_rows)
@example(  # an INSZ of another pupil, an identified pupil made anonymous, a new pupil
    before=[("R1", "I1", "Peeters"), ("R2", "I2", "Claes")],
    incoming=[("R2", "I1", "Claes"), ("R1", None, "Peeters"), ("R3", "I2", "Claes")],
)
def test_a_refused_pupil_row_changes_nothing(
    before: list[tuple[str, str | None, str]], incoming: list[tuple[str, str | None, str]]
) -> None:
    stored = stored_registry(before)
    rows = rows_of(incoming)
    plan, book, refused = plan_pupils(stored, rows)
    for referte in refused:
        assert plan.states[referte] == REJECTED
        assert book.registrations[referte] == stored.registrations[referte]
        assert referte not in book.changes.new_registrations
        assert referte not in book.changes.updated_registrations
        assert referte not in book.changes.registration_pupil
    # The same import without the refused rows decides exactly the same changes.
    kept = [row for row in rows if row.referte not in refused]
    _, without, none_refused = plan_pupils(stored, kept)
    assert none_refused == set()
    assert without.changes == book.changes
    summary = plan.summary
    counted = (
        summary.registrations_created
        + summary.registrations_updated
        + summary.registrations_unchanged
    )
    assert counted + len(refused) == len(rows)


def test_unchanged_rows_are_counted_and_skipped() -> None:
    stored = stored_registry([("R1", "I1", "Peeters"), ("R2", None, "Claes")])
    rows = rows_of([("R1", "I1", "Peeters"), ("R2", None, "Janssens"), ("R3", "I3", "Claes")])
    plan = Planner(ImportSummary())
    book = loaded(stored)
    todo = plan.skip_unchanged(rows, incoming_of(rows), book.registrations)
    assert [row.referte for row, _ in todo] == ["R2", "R3"]
    assert plan.states == {"R1": UNCHANGED}
    assert plan.apply(book, todo) == []
    assert plan.states == {"R1": UNCHANGED, "R2": UPDATED, "R3": CREATED}
    summary = plan.summary
    assert (summary.registrations_unchanged, summary.registrations_updated) == (1, 1)
    assert (summary.registrations_created, summary.pupils_identified) == (1, 1)
    assert summary.accounts_created == 1


def test_a_refused_row_names_its_line_and_column() -> None:
    stored = stored_registry([("R1", "I1", "Peeters"), ("R2", "I2", "Claes")])
    rows = rows_of([("R2", "I1", "Claes"), ("R1", None, "Peeters")])
    plan = Planner(ImportSummary())
    refused = plan.apply(loaded(stored), plan.skip_unchanged(rows, incoming_of(rows), {}))
    assert [(r.line, r.referte, r.problem.column) for r in refused] == [
        (2, "R2", "insz"),
        (3, "R1", "insz"),
    ]
    assert plan.rejected_line == {"R2": 2, "R1": 3}


def test_the_first_row_of_a_referte_decides() -> None:
    plan = Planner(ImportSummary())
    plan.reject_pupil("R1", 5)
    plan.reject_pupil("R1", 9)
    plan.reject_pupil("", 11)  # a row without referte holds nothing
    assert plan.states == {"R1": REJECTED} and plan.rejected_line == {"R1": 5}
    row = EnrolmentRow(20, "R1", "012345", "000001", BORN, None)
    assert "leerlingen.csv regel 5" in plan.orphan(row).reason


enrolment = st.tuples(
    st.sampled_from(["000001", "000002"]),
    st.sampled_from(["100001", "100002"]),
    st.sampled_from(["2025-09-01", "2025-10-01"]),
    st.sampled_from(["", "2026-06-30"]),
)
batches = st.dictionaries(st.sampled_from(REFERTES), st.lists(enrolment, max_size=3), max_size=6)


@settings(max_examples=300)
@given(
    batch=batches,
    before=batches,
    held=st.sets(st.sampled_from(REFERTES)),
    states=st.dictionaries(
        st.sampled_from(REFERTES), st.sampled_from([UNCHANGED, UPDATED, CREATED])
    ),
)
def test_a_held_referte_keeps_its_enrolments(
    batch: dict[str, list[Enrolment]],
    before: dict[str, list[Enrolment]],
    held: set[str],
    states: dict[str, int],
) -> None:
    stored = {r: enrolments_digest(rows) for r, rows in before.items() if rows}
    plan = Planner(ImportSummary())
    plan.states.update(states)
    for referte in sorted(held):
        plan.hold(referte, 7)
    comparable = plan.comparable(batch)
    changed = dict(plan.changed_enrolments(comparable, stored))
    assert not set(changed) & held
    assert not set(plan.maybe_emptied()) & held
    for referte, rows in comparable.items():
        digest = enrolments_digest(rows)
        if referte in changed:
            assert changed[referte] == digest != stored.get(referte, NO_ENROLMENTS)
        else:
            assert digest == stored.get(referte, NO_ENROLMENTS)
    assert plan.held_created() == sorted(r for r in held if states.get(r) == CREATED)


def test_changed_enrolments_make_an_unchanged_registration_updated() -> None:
    plan = Planner(ImportSummary(registrations_unchanged=2))
    plan.states.update({"R1": UNCHANGED, "R2": UNCHANGED})
    same = [("000001", "100001", "2025-09-01", "")]
    stored = {"R1": enrolments_digest(same), "R2": enrolments_digest(same)}
    moved = [("000002", "100001", "2025-09-01", "")]
    changed = plan.changed_enrolments({"R1": same, "R2": moved, "R9": moved}, stored)
    assert changed == [("R2", enrolments_digest(moved)), ("R9", enrolments_digest(moved))]
    assert plan.states == {"R1": UNCHANGED | HAS_ENROLMENTS, "R2": UPDATED | HAS_ENROLMENTS}
    # R9 is only in inschrijvingen.csv: a known registration whose enrolments changed.
    summary = plan.summary
    assert (summary.registrations_unchanged, summary.registrations_updated) == (1, 2)


def test_the_enrolments_digest_ignores_order() -> None:
    a = ("000001", "100001", "2025-09-01", "")
    b = ("000002", "100002", "2025-10-01", "2026-06-30")
    assert enrolments_digest([a, b]) == enrolments_digest([b, a]) != enrolments_digest([a])
    assert enrolments_digest([]) == NO_ENROLMENTS
