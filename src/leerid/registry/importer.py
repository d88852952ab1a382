"""``import_registry``: a DISCIMUS import, streamed, checked and stored in ONE transaction.

Issue 2 §4: a rejected row is written to the rejects file and nothing of it is stored; all
other rows are stored; a missing or unreadable file or a missing column stores nothing
(``ImportFileError``, exit 2). The whole import is one database transaction: a process
killed half-way leaves the registry exactly as it was, and the import can simply be rerun.
For each referte in the import the import is the truth (its fields and its full list of
enrolments); refertes not in the import are left alone. A rejected row changes nothing
(issue 8 §1): a referte with a rejected enrolment row keeps the enrolments it had. Unchanged
rows are recognised by their digest and cost one indexed lookup per batch.

Steps: (1) ``leerlingen.csv`` in batches: check rows, apply the identity rules
(``identities.py``) and write; (2) ``inschrijvingen.csv``: check rows and their referte,
stage them in a temporary table; (3) read the staged enrolments sorted by referte and
replace the enrolments of each referte whose list changed and that has no rejected row;
(4) only when enrolment rows were rejected: read ``inschrijvingen.csv`` again to list the
rows of those refertes that were held back.

This module runs the steps; the parts are in ``registry/importing/``: the reader (files →
valid rows), the planner (pure: what changes), the writer (bulk reads and writes through
``bulk.py``) and the report (summary, rejects file).
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
from itertools import groupby
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from leerid.errors import StorageError
from leerid.registry.bulk import BulkConnection
from leerid.registry.discimus import (
    ENROLMENT_COLUMNS,
    ENROLMENT_FILE,
    PUPIL_COLUMNS,
    PUPIL_FILE,
    CsvTable,
    EnrolmentRow,
    ImportFileError,
    PupilRow,
)
from leerid.registry.importing.fresh import FreshEnrolments
from leerid.registry.importing.planner import (
    CREATED,
    REJECTED,
    STATE,
    UNKNOWN_REFERTE,
    Enrolment,
    Planner,
    held_back,
    incoming_of,
)
from leerid.registry.importing.reader import (
    ENROLMENT_BATCH,
    enrolment_rows,
    pupil_batches,
    rows_of,
)
from leerid.registry.importing.report import ImportSummary, Progress, RejectsFile
from leerid.registry.importing.runs import record_run
from leerid.registry.importing.writer import RegistryWriter, staged
from leerid.registry.retention.revival import revive_enrolled

__all__ = ["ImportSummary", "Progress", "import_registry"]

log = logging.getLogger("leerid.registry.import")

REGISTRY_TABLES = ("pupil", "registration", "account", "enrolment", "enrolment_digest")
"""The tables a first import fills; when all are empty, their non-unique indexes and foreign
keys are built once at the end (``BulkConnection``)."""


def _quiet(step: str, done: int, total: int) -> None:
    """No progress to show."""


class _Import:
    """One import: the reader's rows, the planner's decisions, the writer's statements."""

    def __init__(
        self,
        writer: RegistryWriter,
        rejects: RejectsFile,
        progress: Progress | None,
        today: dt.date,
    ) -> None:
        self.writer = writer
        self.rejects = rejects
        self.progress = progress or _quiet
        self.today = today
        self.summary = ImportSummary(rejects_path=rejects.path)
        self.plan = Planner(self.summary)

    # -- step 1: leerlingen.csv ---------------------------------------------------------------

    def read_pupils(self, table: CsvTable) -> None:
        """Check the rows, apply the identity rules and write, a batch at a time."""
        for batch in pupil_batches(table, self.plan, self.rejects, self.today, self.progress):
            self._pupil_batch(batch)

    def _pupil_batch(self, rows: list[PupilRow]) -> None:
        incoming = incoming_of(rows)
        known = self.writer.known_registrations([i.referte for i in incoming])
        todo = self.plan.skip_unchanged(rows, incoming, known)
        if not todo:
            return
        book = self.writer.load_book(known, [inc for _, inc in todo])
        for refused in self.plan.apply(book, todo):
            self.rejects.add(PUPIL_FILE, refused.line, refused.referte, [refused.problem])
        self.writer.write(book.changes)

    # -- step 2: inschrijvingen.csv -----------------------------------------------------------

    def read_enrolments(self, table: CsvTable) -> None:
        """Check each enrolment and its referte. Enrolments of registrations this import
        created are stored at once (there is nothing to replace); the others are staged and
        compared in step 3."""
        writer = self.writer
        writer.create_stage()
        rows: list[tuple[Any, ...]] = []
        unknown: list[EnrolmentRow] = []
        fresh = FreshEnrolments(writer, self.plan.states)
        states = self.plan.states
        for row in enrolment_rows(table, self.plan, self.rejects, self.progress):
            state = states.get(row.referte)
            if state is None:
                unknown.append(row)
                if len(unknown) >= ENROLMENT_BATCH:
                    rows.extend(self._known_elsewhere(unknown))
                    unknown = []
            elif state == REJECTED:
                self.rejects.add(ENROLMENT_FILE, row.line, row.referte, [self.plan.orphan(row)])
                continue
            elif state & STATE == CREATED:
                fresh.add(row, state)
            else:
                rows.append(staged(row))
            if len(rows) >= ENROLMENT_BATCH:
                writer.stage(rows)
                rows = []
        rows.extend(self._known_elsewhere(unknown))
        writer.stage(rows)
        fresh.finish()
        self.summary.enrolments_written += fresh.written
        held_created = self.plan.held_created()
        if held_created:
            self.summary.enrolments_written -= writer.remove_enrolments(held_created)
        self.progress(ENROLMENT_FILE, table.size, table.size)

    def _known_elsewhere(self, rows: list[EnrolmentRow]) -> list[tuple[Any, ...]]:
        """Enrolments whose referte is not in this leerlingen.csv: kept if already known."""
        if not rows:
            return []
        known = self.writer.registered(sorted({r.referte for r in rows}))
        kept: list[tuple[Any, ...]] = []
        for row in rows:
            if row.referte in known:
                kept.append(staged(row))
            else:
                self.rejects.add(ENROLMENT_FILE, row.line, row.referte, [UNKNOWN_REFERTE])
        return kept

    # -- step 3: replace the enrolments that changed ------------------------------------------

    def store_enrolments(self) -> None:
        """Read the staged enrolments by referte and replace the lists that changed."""
        writer = self.writer
        total = writer.staged_count()
        batch: dict[str, list[Enrolment]] = {}
        done = 0
        for referte, group in groupby(writer.staged_rows(), key=lambda r: str(r[0])):
            batch[referte] = [
                (inst, groep, str(begin), "" if eind is None else str(eind))
                for _, inst, groep, begin, eind in group
            ]
            if len(batch) >= ENROLMENT_BATCH // 2:
                done += sum(len(g) for g in batch.values())
                self._replace_enrolments(batch)
                batch = {}
                self.progress("enrolments", done, total)
        self._replace_enrolments(batch)
        self.progress("enrolments", total, total)
        writer.drop_stage()
        stale = writer.with_enrolments(self.plan.maybe_emptied())
        self._replace_enrolments({r: [] for r in stale})

    def _replace_enrolments(self, batch: dict[str, list[Enrolment]]) -> None:
        batch = self.plan.comparable(batch)
        if not batch:
            return
        stored = self.writer.stored_digests(self.plan.stored_needed(batch))
        changed = self.plan.changed_enrolments(batch, stored)
        if changed:
            self.summary.enrolments_written += self.writer.replace_enrolments(changed, batch)

    # -- step 4: list the rows held back by a rejected row of the same referte ---------------

    def report_held(self, enrolments: CsvTable) -> None:
        """Each valid enrolment row of a registration with a rejected enrolment row was not
        applied (issue 8 §1): it goes to the rejects file, pointing at the rejected line.

        Rows of a rejected pupil or of an unknown referte were reported already.
        """
        if not self.plan.held:
            return
        held = self.plan.held_to_report(self.writer.registered(self.plan.held_elsewhere()))
        if not held:
            return
        for line, referte in rows_of(enrolments, held):
            self.rejects.add(ENROLMENT_FILE, line, referte, [held_back(held[referte])])

    def finish(self) -> None:
        summary = self.summary
        self.writer.db.rebuild_deferred()  # a first import: indexes and foreign keys now
        # Statistics first: a first import's revival would otherwise be planned for empty tables.
        self.writer.finish(summary.registrations_created + summary.registrations_updated)
        revive_enrolled(self.writer.db, self.today)  # art. 3: a new enrolment revives at once


def import_registry(
    engine: Engine,
    directory: Path | str,
    rejects_path: Path | str | None = None,
    progress: Progress | None = None,
    *,
    today: dt.date | None = None,
) -> ImportSummary:
    """Import ``leerlingen.csv`` and ``inschrijvingen.csv`` from ``directory`` (issue 2 §3-§5).

    Rejected rows go to ``rejects_path`` (default ``directory/rejects.csv``). Raises
    ``ImportFileError`` (and stores nothing) when a file is missing, unreadable or lacks a
    required column. Either way one ``ImportRun`` row records the import (issue 13).
    """
    started = dt.datetime.now(dt.UTC)
    try:
        summary = _checked_run(engine, Path(directory), rejects_path, progress, today)
    except Exception as exc:  # issue 13: a failed import is recorded too, then raised
        record_run(engine, started, None, str(exc) or type(exc).__name__)
        raise
    record_run(engine, started, summary)
    return summary


def _checked_run(
    engine: Engine,
    folder: Path,
    rejects_path: Path | str | None,
    progress: Progress | None,
    today: dt.date | None,
) -> ImportSummary:
    if folder.exists() and not folder.is_dir():
        raise ImportFileError(
            f"{folder}: this is a file; give the folder that holds {PUPIL_FILE} and "
            f"{ENROLMENT_FILE} (for example {folder.parent}). Nothing was imported."
        )
    if not folder.is_dir():
        raise ImportFileError(
            f"{folder}: import folder not found; it must hold {PUPIL_FILE} and {ENROLMENT_FILE}."
        )
    target = Path(rejects_path) if rejects_path is not None else folder / "rejects.csv"
    if target.resolve() in {(folder / PUPIL_FILE).resolve(), (folder / ENROLMENT_FILE).resolve()}:
        raise ImportFileError(
            f"{target}: the rejects file would overwrite an input file; choose another --rejects"
        )
    today = today or dt.date.today()
    # The import allocates millions of short-lived objects and creates no reference cycles;
    # the cyclic garbage collector would spend about a third of the time walking them.
    collecting = gc.isenabled()
    gc.disable()
    try:
        summary = _run(engine, folder, target, progress, today)
    finally:
        if collecting:
            gc.enable()
    log.info(
        "registry import: %d created, %d updated, %d unchanged, %d identified, %d rejected",
        summary.registrations_created,
        summary.registrations_updated,
        summary.registrations_unchanged,
        summary.pupils_identified,
        summary.rejects,
    )
    return summary


def _run(
    engine: Engine, folder: Path, target: Path, progress: Progress | None, today: dt.date
) -> ImportSummary:
    with (
        CsvTable(folder / PUPIL_FILE, PUPIL_COLUMNS) as pupils,
        CsvTable(folder / ENROLMENT_FILE, ENROLMENT_COLUMNS) as enrolments,
    ):
        rejects = RejectsFile(target)
        try:
            db = BulkConnection(engine, first_import=REGISTRY_TABLES)
        except Exception as exc:
            rejects.discard()
            raise StorageError(
                "cannot start the import on "
                f"{engine.url.render_as_string(hide_password=True)}: "
                f"{getattr(exc, 'orig', exc)}. If another import or a merge is running, wait "
                "for it to end and try again."
            ) from None
        except BaseException:
            rejects.discard()
            raise
        try:
            writer = RegistryWriter(db, dt.datetime.now(dt.UTC))
            importer = _Import(writer, rejects, progress, today)
            importer.read_pupils(pupils)
            importer.read_enrolments(enrolments)
            importer.store_enrolments()
            importer.report_held(enrolments)
            importer.finish()
            db.commit()
        except BaseException:
            db.rollback()
            rejects.discard()
            raise
        rejects.keep()
    summary = importer.summary
    summary.rejects = rejects.rows
    return summary
