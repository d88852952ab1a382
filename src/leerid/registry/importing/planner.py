"""The import's planner: given what is stored and what was read, what changes (pure, no I/O).

It keeps the state of each referte during one import (a small int per referte, in
``states``), applies the identity rules (``identities.apply_registration``) to each batch of
changed registrations, and decides which enrolment lists changed. It never touches a
database or a file: the importer hands it what the writer read and writes what it decided,
so every decision is tested on plain data.

A rejected row changes nothing (issue 2 §4, issue 8 §1): a pupil row the rules refuse leaves
no change in the book for its referte, and a referte with a rejected enrolment row is
``held``: its enrolments are never part of a change.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from leerid.registry.discimus import (
    PUPIL_FILE,
    REFERTE_MAX,
    EnrolmentRow,
    Problem,
    PupilRow,
)
from leerid.registry.identities import (
    IdentityBook,
    Incoming,
    KnownRegistration,
    Outcome,
    Rejection,
    apply_registration,
    registration_digest,
)
from leerid.registry.importing.report import ImportSummary

__all__ = [
    "CREATED",
    "HAS_ENROLMENTS",
    "NO_ENROLMENTS",
    "PENDING",
    "REJECTED",
    "STATE",
    "UNCHANGED",
    "UNKNOWN_REFERTE",
    "UPDATED",
    "Enrolment",
    "Planner",
    "Refused",
    "enrolments_digest",
    "held_back",
    "incoming_of",
]

# State of each referte of leerlingen.csv during one import (a small int per referte).
REJECTED, PENDING, UNCHANGED, UPDATED, CREATED = 0, 1, 2, 3, 4
STATE = 7
HAS_ENROLMENTS = 8

Enrolment = tuple[str, str, str, str]
"""(instellingsnummer, administratieve_groep, begindatum, einddatum or "") as ISO text."""


def enrolments_digest(rows: list[Enrolment]) -> str:
    """A fingerprint of a full list of enrolments (order-independent)."""
    text = "\x1e".join("\x1f".join(row) for row in sorted(rows))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


NO_ENROLMENTS = enrolments_digest([])

UNKNOWN_REFERTE = Problem(
    "referte",
    f"referte is onbekend: ze staat niet in {PUPIL_FILE} van deze import "
    "en werd ook nooit eerder ingelezen; voeg de leerling toe",
)


def held_back(line: int) -> Problem:
    """Why a valid enrolment row was not applied: ``line`` of its referte was rejected."""
    return Problem(
        "referte",
        f"niet ingelezen: regel {line} met dezelfde referte "
        "werd geweigerd; de inschrijvingen van deze referte blijven "
        "zoals ze waren tot die regel verbeterd is",
    )


@dataclass(frozen=True, slots=True)
class Refused:
    """A valid pupil row the identity rules refuse: it goes to the rejects file."""

    line: int
    referte: str
    problem: Problem


def incoming_of(rows: list[PupilRow]) -> list[Incoming]:
    """The registrations of valid pupil rows, each with the digest of its fields."""
    return [
        Incoming(
            r.referte,
            r.insz,
            r.naam,
            r.voornaam,
            r.geboortedatum,
            registration_digest(r.referte, r.insz, r.naam, r.voornaam, r.geboortedatum),
        )
        for r in rows
    ]


class Planner:
    """The decisions of one import, on plain data; ``summary`` counts what they change."""

    def __init__(self, summary: ImportSummary) -> None:
        self.summary = summary
        self.states: dict[str, int] = {}
        """The state of each referte of leerlingen.csv (``PENDING`` while being read)."""
        self.rejected_line: dict[str, int] = {}
        self.held: dict[str, int] = {}
        """Refertes with a rejected row in inschrijvingen.csv (→ its first such line): their
        enrolments stay as they were (issue 8 §1)."""

    # -- pupils ------------------------------------------------------------------------------

    def reject_pupil(self, referte: str, line: int) -> None:
        """A rejected row of leerlingen.csv; the first row of a referte decides its fate."""
        if referte and referte not in self.states:
            self.states[referte] = REJECTED
            self.rejected_line[referte] = line

    def skip_unchanged(
        self,
        rows: list[PupilRow],
        incoming: list[Incoming],
        known: dict[str, KnownRegistration],
    ) -> list[tuple[PupilRow, Incoming]]:
        """The rows whose registration is new or changed; unchanged ones are counted."""
        states, summary = self.states, self.summary
        todo: list[tuple[PupilRow, Incoming]] = []
        for row, inc in zip(rows, incoming, strict=True):
            k = known.get(inc.referte)
            if k is not None and k.digest == inc.digest:
                states[inc.referte] = UNCHANGED
                summary.registrations_unchanged += 1
            else:
                todo.append((row, inc))
        return todo

    def apply(self, book: IdentityBook, todo: list[tuple[PupilRow, Incoming]]) -> list[Refused]:
        """Apply the identity rules to each row in turn; ``book.changes`` is what to write.

        A refused row leaves its referte ``REJECTED`` and nothing of it in the changes.
        """
        states, summary = self.states, self.summary
        refused: list[Refused] = []
        for row, inc in todo:
            outcome = apply_registration(book, inc)
            if isinstance(outcome, Rejection):
                refused.append(
                    Refused(row.line, inc.referte, Problem(outcome.column, outcome.reason))
                )
                states[inc.referte] = REJECTED
                self.rejected_line[inc.referte] = row.line
            elif outcome is Outcome.CREATED:
                states[inc.referte] = CREATED
                summary.registrations_created += 1
            elif outcome is Outcome.UPDATED:
                states[inc.referte] = UPDATED
                summary.registrations_updated += 1
            else:
                states[inc.referte] = UNCHANGED
                summary.registrations_unchanged += 1
        changes = book.changes
        summary.pupils_identified += changes.leer_id_uuids_minted
        summary.accounts_created += len(changes.new_accounts)
        summary.accounts_retired += len(changes.retired_accounts)
        return refused

    # -- enrolments --------------------------------------------------------------------------

    def hold(self, referte: str, line: int) -> None:
        """A rejected row of inschrijvingen.csv: its referte keeps the enrolments it had."""
        if referte and len(referte) <= REFERTE_MAX:
            self.held.setdefault(referte, line)

    def orphan(self, row: EnrolmentRow) -> Problem:
        """Issue 2 §4: a rejected pupil row takes its enrolments with it."""
        return Problem(
            "referte",
            f"de leerling met deze referte werd geweigerd ({PUPIL_FILE} regel "
            f"{self.rejected_line[row.referte]}); verbeter die rij, dan wordt ook "
            "deze inschrijving ingelezen",
        )

    def held_created(self) -> list[str]:
        """Registrations created by this import with a rejected enrolment row: they keep what
        they had before it, no enrolments (their valid rows were written on the way)."""
        return sorted(r for r in self.held if self.states.get(r, 0) & STATE == CREATED)

    def comparable(self, batch: dict[str, list[Enrolment]]) -> dict[str, list[Enrolment]]:
        """The enrolment lists of ``batch`` that may replace stored ones (none of a held
        referte)."""
        if self.held:
            return {r: rows for r, rows in batch.items() if r not in self.held}
        return batch

    def stored_needed(self, batch: dict[str, list[Enrolment]]) -> list[str]:
        """The refertes whose stored digest must be read: a registration created by this
        import has no enrolments yet, no need to ask."""
        states = self.states
        return [r for r in batch if states.get(r, 0) & STATE != CREATED]

    def changed_enrolments(
        self, batch: dict[str, list[Enrolment]], stored: dict[str, str]
    ) -> list[tuple[str, str]]:
        """``(referte, digest)`` of each list that differs from the stored one, in order."""
        states, summary = self.states, self.summary
        changed: list[tuple[str, str]] = []
        for referte, rows in batch.items():
            state = states.get(referte)
            if state is not None:
                states[referte] = state | HAS_ENROLMENTS
            digest = enrolments_digest(rows)
            if stored.get(referte, NO_ENROLMENTS) == digest:
                continue
            changed.append((referte, digest))
            if state is None:
                summary.registrations_updated += 1  # a referte only in inschrijvingen.csv
            elif state & STATE == UNCHANGED:
                summary.registrations_unchanged -= 1
                summary.registrations_updated += 1
                states[referte] = UPDATED | HAS_ENROLMENTS
        return changed

    def maybe_emptied(self) -> list[str]:
        """Refertes of leerlingen.csv without any row in inschrijvingen.csv: if they had
        enrolments, they now have none."""
        held = self.held
        return [r for r, s in self.states.items() if s in (UNCHANGED, UPDATED) and r not in held]

    def held_elsewhere(self) -> list[str]:
        """Held refertes that are not in leerlingen.csv (known or not)."""
        return [r for r in self.held if r not in self.states]

    def held_to_report(self, registered: set[str]) -> dict[str, int]:
        """Held refertes whose other rows were valid but not applied (→ the rejected line).

        Rows of a rejected pupil or of an unknown referte were reported already.
        """
        states = self.states
        return {
            r: line
            for r, line in self.held.items()
            if (r in states and states[r] & STATE != REJECTED) or r in registered
        }
