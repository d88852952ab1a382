"""The import's reader: the DISCIMUS files as a stream of valid rows; rejected rows go to the
rejects file at once, in file order. The rows are checked by ``checker`` (a second process for
a large file)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator

from leerid.registry.discimus import (
    ENROLMENT_COLUMNS,
    ENROLMENT_FILE,
    PUPIL_FILE,
    CsvTable,
    EnrolmentRow,
    Problem,
    PupilRow,
    check_enrolment,
)
from leerid.registry.importing.checker import checked_enrolments, checked_pupils
from leerid.registry.importing.planner import PENDING, Planner
from leerid.registry.importing.report import Progress, RejectsFile

__all__ = ["ENROLMENT_BATCH", "PUPIL_BATCH", "enrolment_rows", "pupil_batches", "rows_of"]

PUPIL_BATCH = 20_000
ENROLMENT_BATCH = 20_000

DUPLICATE = Problem(
    "referte",
    f"referte komt meer dan eens voor in {PUPIL_FILE}; alleen de eerste "
    "rij met deze referte wordt ingelezen",
)


def pupil_batches(
    table: CsvTable, plan: Planner, rejects: RejectsFile, today: dt.date, progress: Progress
) -> Iterator[list[PupilRow]]:
    """Valid rows of ``leerlingen.csv`` in batches; only the first row of a referte counts.

    Each referte read becomes ``PENDING`` in ``plan`` (or ``REJECTED``); progress is
    reported after each full batch has been handled.
    """
    states = plan.states
    batch: list[PupilRow] = []
    with checked_pupils(table, today) as checked:
        for line, referte, row, problems in checked:
            if row is not None and referte in states:
                problems = [DUPLICATE]
                row = None
            if row is None:
                rejects.add(PUPIL_FILE, line, referte, problems)
                plan.reject_pupil(referte, line)
                continue
            states[referte] = PENDING
            batch.append(row)
            if len(batch) >= PUPIL_BATCH:
                yield batch
                batch = []
                progress(PUPIL_FILE, checked.bytes_read, table.size)
    if batch:
        yield batch
    progress(PUPIL_FILE, table.size, table.size)


def enrolment_rows(
    table: CsvTable, plan: Planner, rejects: RejectsFile, progress: Progress
) -> Iterator[EnrolmentRow]:
    """Valid rows of ``inschrijvingen.csv``; the referte of a rejected row is held."""
    with checked_enrolments(table) as checked:
        for count, (line, referte, row, problems) in enumerate(checked, 1):
            if count % ENROLMENT_BATCH == 0:
                progress(ENROLMENT_FILE, checked.bytes_read, table.size)
            if row is None:
                rejects.add(ENROLMENT_FILE, line, referte, problems)
                plan.hold(referte, line)
                continue
            yield row


def rows_of(enrolments: CsvTable, refertes: dict[str, int]) -> Iterator[tuple[int, str]]:
    """``(line, referte)`` of each valid row of ``inschrijvingen.csv`` with one of these
    refertes: a second reading of the file the import opened (``enrolments``, read to its
    end by now), not of what its path names by then."""
    again = os.dup(enrolments.fileno())
    with CsvTable(enrolments.path, ENROLMENT_COLUMNS, descriptor=again) as table:
        for line, values in table.rows():
            referte = values[0].strip()
            if referte not in refertes:
                continue
            row, _ = check_enrolment(line, values)
            if row is not None:
                yield line, referte
