"""Enrolments of registrations created by this import, stored as they come (nothing to
replace, nothing to compare)."""

from __future__ import annotations

from typing import Any

from leerid.registry.discimus import EnrolmentRow
from leerid.registry.importing.planner import HAS_ENROLMENTS, Enrolment, enrolments_digest
from leerid.registry.importing.reader import ENROLMENT_BATCH
from leerid.registry.importing.writer import RegistryWriter, staged

__all__ = ["FreshEnrolments"]


class FreshEnrolments:
    """Enrolments of registrations created by this import, written a batch at a time.

    The digest of a registration's enrolments is computed per run of consecutive rows with
    the same referte (files are usually grouped by referte); a referte that comes back after
    another one is recomputed from the stored rows at the end.
    """

    def __init__(self, writer: RegistryWriter, states: dict[str, int]) -> None:
        self.writer = writer
        self.states = states
        self.written = 0
        self.rows: list[tuple[Any, ...]] = []
        self.digests: list[tuple[str, str]] = []
        self.run_referte: str | None = None
        self.run: list[Enrolment] = []
        self.scattered: set[str] = set()

    def add(self, row: EnrolmentRow, state: int) -> None:
        """Store ``row`` of a registration created by this import (in ``state``)."""
        if row.referte != self.run_referte:
            self._close_run()
            self.run_referte = row.referte
            if state & HAS_ENROLMENTS:
                self.scattered.add(row.referte)
            else:
                self.states[row.referte] = state | HAS_ENROLMENTS
        values = staged(row)
        self.run.append((values[1], values[2], values[3], values[4] or ""))
        self.rows.append(values)
        if len(self.rows) >= ENROLMENT_BATCH:
            self._flush()

    def _close_run(self) -> None:
        if self.run_referte is not None and self.run_referte not in self.scattered:
            self.digests.append((enrolments_digest(self.run), self.run_referte))
        self.run_referte, self.run = None, []

    def _flush(self) -> None:
        self.writer.add_enrolments(self.rows, self.digests)
        self.written += len(self.rows)
        self.rows, self.digests = [], []

    def finish(self) -> None:
        """Write what is left; recompute the digests of scattered refertes."""
        self._close_run()
        self._flush()
        if not self.scattered:
            return
        stored = self.writer.stored_enrolments(sorted(self.scattered))
        self.writer.set_digests(
            [(enrolments_digest(rows), referte) for referte, rows in stored.items()]
        )
