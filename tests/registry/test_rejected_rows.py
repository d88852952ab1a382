"""Issue 8 §1: a rejected row changes nothing. On a re-import where a random subset of rows is
made invalid, the registrations those rows belong to stay exactly as they were (fields and
enrolments), the other rows are applied, and the summary counts the rows as rejected, not
the registrations as updated. Hypothesis draws the subsets; both backends."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from leerid.registry.importer import import_registry
from tests.registry.conftest import national_number, read_rejects, write_folder

BORN = dt.date(2011, 5, 6)
PUPILS = 4
counter = itertools.count()

# Per pupil: (name changes, pupil row invalid, per enrolment: (school changes, row invalid)).
ENROLMENT_EDIT = st.tuples(st.booleans(), st.booleans())
PUPIL_EDIT = st.tuples(st.booleans(), st.booleans(), st.lists(ENROLMENT_EDIT, max_size=3))


def registration(engine: Engine, referte: str) -> tuple[object, ...]:
    """What the registry holds of one referte: its fields and its enrolments."""
    with engine.connect() as conn:
        fields = conn.execute(
            text("SELECT naam, voornaam, digest FROM registration WHERE referte = :r"),
            {"r": referte},
        ).one_or_none()
        enrolments = sorted(
            tuple(map(str, row))
            for row in conn.execute(
                text(
                    "SELECT instellingsnummer, administratieve_groep, begindatum, einddatum "
                    "FROM enrolment WHERE referte = :r"
                ),
                {"r": referte},
            )
        )
    return (None if fields is None else tuple(fields), enrolments)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.lists(PUPIL_EDIT, min_size=PUPILS, max_size=PUPILS))
def test_a_rejected_row_changes_nothing_on_reimport(
    engine: Engine, tmp_path: Path, edits: list[tuple[bool, bool, list[tuple[bool, bool]]]]
) -> None:
    run = next(counter)
    refs = [f"X{run}-{i}" for i in range(PUPILS)]
    pupils = [
        [ref, national_number(BORN, 100 * (run % 9) + i + 1), "Peeters", "An", BORN.isoformat()]
        for i, ref in enumerate(refs)
    ]
    # Before: every pupil has two enrolments (school 011111 and 022222).
    before_enrolments = [
        [ref, school, "000001", "2025-09-01", ""] for ref in refs for school in ("011111", "022222")
    ]
    import_registry(engine, write_folder(tmp_path / f"a{run}", pupils, before_enrolments))
    before = {ref: registration(engine, ref) for ref in refs}

    new_pupils, new_enrolments = [], []
    expected_rejects = updated = 0
    untouched: list[str] = []
    for ref, row, (rename, bad_pupil, enrolment_edits) in zip(refs, pupils, edits, strict=True):
        new_pupils.append(
            [
                ref,
                row[1],
                "Claes" if rename else "Peeters",
                "An",
                "2011-13-06" if bad_pupil else row[4],
            ]
        )
        rows = [
            [
                ref,
                "12345" if bad else ("033333" if change else f"0{k}{k}{k}{k}{k}"),
                "000001",
                "2025-09-01",
                "",
            ]
            for k, (change, bad) in enumerate(enrolment_edits, 1)
        ]
        new_enrolments.extend(rows)
        bad_enrolment = any(bad for _, bad in enrolment_edits)
        expected_rejects += bad_pupil + (len(rows) if bad_pupil or bad_enrolment else 0)
        if bad_pupil or bad_enrolment:
            untouched.append(ref)
        new_list = sorted(r[1] for r in rows)
        changed = (rename and not bad_pupil) or (
            not bad_pupil and not bad_enrolment and new_list != ["011111", "022222"]
        )
        updated += changed

    folder = write_folder(tmp_path / f"b{run}", new_pupils, new_enrolments)
    summary = import_registry(engine, folder)

    for ref, (_, bad_pupil, _) in zip(refs, edits, strict=True):
        fields, enrolments = registration(engine, ref)
        if bad_pupil:
            assert fields == before[ref][0], "a rejected pupil row changed its registration"
        if ref in untouched:
            assert enrolments == before[ref][1], "a rejected row changed the enrolments"
        else:
            assert len(enrolments) == len([r for r in new_enrolments if r[0] == ref]), (
                "valid rows of a registration without rejected rows are applied"
            )
    assert summary.rejects == expected_rejects
    assert len({(r["bestand"], r["regel"]) for r in read_rejects(summary.rejects_path)}) == (
        expected_rejects
    )
    assert summary.registrations_updated == updated
    assert summary.registrations_created == 0


def test_the_issue_example_keeps_the_school(engine: Engine, tmp_path: Path) -> None:
    """The example of the issue: one enrolment row turned invalid ('12345') on re-import."""
    pupil = [["R1", national_number(BORN, 5), "Peeters", "An", BORN.isoformat()]]
    good = [["R1", "012345", "000001", "2025-09-01", ""]]
    import_registry(engine, write_folder(tmp_path / "a", pupil, good))
    before = registration(engine, "R1")
    summary = import_registry(
        engine, write_folder(tmp_path / "b", pupil, [["R1", "12345", "000001", "2025-09-01", ""]])
    )
    assert registration(engine, "R1") == before
    assert (summary.registrations_updated, summary.registrations_unchanged) == (0, 1)
    assert summary.rejects == 1


def test_a_new_registration_with_a_rejected_enrolment_gets_none(
    engine: Engine, tmp_path: Path
) -> None:
    """A registration created by the import had no enrolments before: it keeps none, and its
    valid rows are listed in the rejects file, pointing at the rejected line."""
    pupil = [["N1", national_number(BORN, 6), "Peeters", "An", BORN.isoformat()]]
    rows = [
        ["N1", "012345", "000001", "2025-09-01", ""],
        ["N1", "12345", "000001", "2025-09-01", ""],
        ["N1", "054321", "000001", "2025-09-01", ""],
    ]
    summary = import_registry(engine, write_folder(tmp_path / "a", pupil, rows))
    assert registration(engine, "N1")[1] == []
    assert summary.registrations_created == 1
    assert summary.enrolments_written == 0
    rejects = read_rejects(summary.rejects_path)
    assert sorted(int(r["regel"]) for r in rejects) == [2, 3, 4]
    held = [r for r in rejects if r["regel"] != "3"]
    assert all("regel 3 met dezelfde referte" in r["reden"] for r in held)
