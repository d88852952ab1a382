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
"""

from __future__ import annotations

import datetime as dt
import gc
import glob
import hashlib
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Engine

from leerid.csv_safe import SafeWriter
from leerid.errors import StorageError
from leerid.registry.bulk import BulkConnection
from leerid.registry.discimus import (
    ENROLMENT_COLUMNS,
    ENROLMENT_FILE,
    PUPIL_COLUMNS,
    PUPIL_FILE,
    REFERTE_MAX,
    CsvTable,
    EnrolmentRow,
    ImportFileError,
    Problem,
    PupilRow,
    check_enrolment,
    check_pupil,
    visible,
)
from leerid.registry.identities import (
    AccountState,
    IdentityBook,
    Incoming,
    KnownRegistration,
    Outcome,
    PupilState,
    Rejection,
    apply_registration,
    registration_digest,
)

__all__ = ["ImportSummary", "Progress", "import_registry"]

log = logging.getLogger("leerid.registry.import")

Progress = Callable[[str, int, int], None]
"""Called as ``progress(step, done, total)`` while an import runs."""

PUPIL_BATCH = 20_000
ANALYZE_AFTER = 10_000
ENROLMENT_BATCH = 20_000
REJECTS_HEADER = ("bestand", "regel", "kolom", "referte", "reden")

# State of each referte of leerlingen.csv during one import (a small int per referte).
REJECTED, PENDING, UNCHANGED, UPDATED, CREATED = 0, 1, 2, 3, 4
STATE = 7
HAS_ENROLMENTS = 8


def enrolments_digest(rows: list[tuple[str, str, str, str]]) -> str:
    """A fingerprint of a full list of enrolments (order-independent)."""
    text = "\x1e".join("\x1f".join(row) for row in sorted(rows))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


NO_ENROLMENTS = enrolments_digest([])


@dataclass
class ImportSummary:
    """What one import did."""

    registrations_created: int = 0
    registrations_updated: int = 0
    registrations_unchanged: int = 0
    pupils_identified: int = 0
    """Pupils given a ``leer_id_uuid`` by this import (INSZ seen for the first time)."""
    accounts_created: int = 0
    accounts_retired: int = 0
    enrolments_written: int = 0
    rejects: int = 0
    """Rows rejected, in both files."""
    rejects_path: Path = field(default_factory=Path)


class _Rejects:
    """The rejects CSV, written to a temporary file and put in place after the commit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _remove_stale_temporaries(path)
            self._file: TextIO = open(self.tmp, "w", encoding="utf-8", newline="")  # noqa: SIM115
        except OSError as exc:
            raise ImportFileError(
                f"{path}: the rejects file cannot be written ({exc.strerror}); choose another "
                "place with --rejects. Nothing was imported."
            ) from None
        self._writer = SafeWriter(self._file)
        self._writer.writerow(REJECTS_HEADER)
        self.rows = 0

    def add(self, file: str, line: int, referte: str, problems: list[Problem]) -> None:
        self.rows += 1
        referte = visible(referte)  # no control character reaches the rejects file
        for problem in problems:
            self._writer.writerow((file, line, problem.column, referte, problem.reason))

    def keep(self) -> None:
        self._file.close()
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        self._file.close()
        self.tmp.unlink(missing_ok=True)


def _remove_stale_temporaries(path: Path) -> None:
    """Issue 8 §23: a killed import leaves ``.rejects.csv.PID.tmp``; remove those of
    processes that no longer run (a running import keeps its own)."""
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        pid = tmp.name[len(path.name) + 2 : -len(".tmp")]
        if pid.isdigit() and not _running(int(pid)):
            tmp.unlink(missing_ok=True)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


class _Importer:
    def __init__(
        self,
        db: BulkConnection,
        rejects: _Rejects,
        progress: Progress | None,
        today: dt.date,
        now: dt.datetime,
    ) -> None:
        self.db = db
        self.rejects = rejects
        self.progress = progress or (lambda step, done, total: None)
        self.today = today
        self.now = db.value(now)
        self.summary = ImportSummary(rejects_path=rejects.path)
        self.seen: dict[str, int] = {}
        self.rejected_line: dict[str, int] = {}
        self.held: dict[str, int] = {}
        """Refertes with a rejected row in inschrijvingen.csv (→ its first such line): their
        enrolments stay as they were (issue 8 §1)."""
        self._sequence_start = 0
        self._next_id = self._first_pupil_id()
        self._assigned = 0

    # -- pupil ids ---------------------------------------------------------------------------

    def _first_pupil_id(self) -> int:
        """Pupil ids are assigned here so a batch can link rows before inserting them."""
        (top,) = self.db.execute("SELECT COALESCE(MAX(id), 0) FROM pupil")[0]
        if self.db.postgres:
            (seq,) = self.db.execute("SELECT nextval(pg_get_serial_sequence('pupil', 'id'))")[0]
            return max(int(top) + 1, int(seq))
        return int(top) + 1

    def _take_pupil_id(self) -> int:
        pupil_id = self._next_id
        self._next_id += 1
        self._assigned += 1
        return pupil_id

    def _finish_sequence(self) -> None:
        if self.db.postgres and self._assigned:
            self.db.execute(
                "SELECT setval(pg_get_serial_sequence('pupil', 'id'), ?)", (self._next_id - 1,)
            )

    # -- step 1: leerlingen.csv ---------------------------------------------------------------

    def read_pupils(self, table: CsvTable) -> None:
        batch: list[PupilRow] = []
        for line, values in table.rows():
            row, problems = check_pupil(line, values, self.today)
            referte = values[0].strip()
            if row is not None and referte in self.seen:
                problems = [
                    Problem(
                        "referte",
                        f"referte komt meer dan eens voor in {PUPIL_FILE}; alleen de eerste "
                        "rij met deze referte wordt ingelezen",
                    )
                ]
                row = None
            if row is None:
                self.rejects.add(PUPIL_FILE, line, referte, problems)
                if referte and referte not in self.seen:
                    self.seen[referte] = REJECTED
                    self.rejected_line[referte] = line
                continue
            self.seen[referte] = PENDING
            batch.append(row)
            if len(batch) >= PUPIL_BATCH:
                self._pupil_batch(batch)
                batch = []
                self.progress(PUPIL_FILE, table.bytes_read, table.size)
        self._pupil_batch(batch)
        self.progress(PUPIL_FILE, table.size, table.size)

    def _pupil_batch(self, rows: list[PupilRow]) -> None:
        if not rows:
            return
        db = self.db
        incoming = [
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
        known = {
            referte: KnownRegistration(pupil_id, insz, digest)
            for referte, pupil_id, insz, digest in db.select_in(
                "SELECT referte, pupil_id, insz, digest FROM registration",
                "referte",
                [i.referte for i in incoming],
            )
        }
        todo: list[tuple[PupilRow, Incoming]] = []
        for row, inc in zip(rows, incoming, strict=True):
            k = known.get(inc.referte)
            if k is not None and k.digest == inc.digest:
                self.seen[inc.referte] = UNCHANGED
                self.summary.registrations_unchanged += 1
            else:
                todo.append((row, inc))
        if not todo:
            return
        book = self._load_book(known, [inc for _, inc in todo])
        for row, inc in todo:
            outcome = apply_registration(book, inc)
            if isinstance(outcome, Rejection):
                self.rejects.add(
                    PUPIL_FILE, row.line, inc.referte, [Problem(outcome.column, outcome.reason)]
                )
                self.seen[inc.referte] = REJECTED
                self.rejected_line[inc.referte] = row.line
            elif outcome is Outcome.CREATED:
                self.seen[inc.referte] = CREATED
                self.summary.registrations_created += 1
            elif outcome is Outcome.UPDATED:
                self.seen[inc.referte] = UPDATED
                self.summary.registrations_updated += 1
            else:
                self.seen[inc.referte] = UNCHANGED
                self.summary.registrations_unchanged += 1
        self._write(book)

    def _load_book(self, known: dict[str, KnownRegistration], todo: list[Incoming]) -> IdentityBook:
        """The pupils, INSZ owners and accounts the rules may need for these registrations."""
        db = self.db
        inszs = sorted({i.insz for i in todo if i.insz})
        owner: dict[str, int] = {}
        if inszs:
            for pupil_id, insz in db.select_in(
                "SELECT pupil_id, insz FROM insz_history", "insz", inszs
            ):
                owner[insz] = pupil_id
            for pupil_id, insz in db.select_in("SELECT id, insz FROM pupil", "insz", inszs):
                owner[insz] = pupil_id  # a current INSZ wins over history
        ids = sorted(set(owner.values()) | {k.pupil_id for k in known.values()})
        pupils: dict[int, PupilState] = {}
        if ids:
            for pupil_id, insz, leer_id_uuid in db.select_in(
                "SELECT id, insz, leer_id_uuid FROM pupil", "id", ids
            ):
                pupils[pupil_id] = PupilState(pupil_id, insz, leer_id_uuid)
                if insz is not None:
                    owner[insz] = pupil_id
            for account_uuid, pupil_id, status, credential in db.select_in(
                "SELECT a.account_uuid, a.pupil_id, a.status, c.account_uuid FROM account a "
                "LEFT JOIN credential c ON c.account_uuid = a.account_uuid",
                "a.pupil_id",
                ids,
                "ORDER BY a.created_at, a.account_uuid",
            ):
                pupils[pupil_id].accounts[account_uuid] = AccountState(
                    status, credential is not None
                )
        return IdentityBook(
            registrations=known,
            pupils=pupils,
            insz_owner=owner,
            next_pupil_id=self._take_pupil_id,
        )

    def _write(self, book: IdentityBook) -> None:
        """Write what the rules decided, in an order the foreign keys accept."""
        db, ch, now = self.db, book.changes, self.now
        db.insert(
            "pupil",
            (
                "id",
                "leer_id_uuid",
                "insz",
                "naam",
                "voornaam",
                "geboortedatum",
                "created_at",
                "updated_at",
            ),
            [(pid, *f[:4], _iso(f[4]), now, now) for pid, f in ch.new_pupils.items()],
        )
        db.executemany(
            "UPDATE pupil SET insz = ?, leer_id_uuid = ?, updated_at = ? WHERE id = ?",
            [(insz, luuid, now, pid) for pid, (insz, luuid) in ch.pupil_identity.items()],
        )
        db.executemany(
            "UPDATE pupil SET naam = ?, voornaam = ?, geboortedatum = ?, updated_at = ? "
            "WHERE id = ?",
            [
                (naam, voornaam, geb.isoformat(), now, pid)
                for pid, (naam, voornaam, geb) in ch.pupil_fields.items()
                if pid not in ch.deleted_pupils
            ],
        )
        db.insert(
            "insz_history",
            ("pupil_id", "insz", "replaced_at"),
            [(pid, insz, now) for pid, insz in ch.insz_history],
        )
        db.insert(
            "registration",
            (
                "referte",
                "pupil_id",
                "insz",
                "naam",
                "voornaam",
                "geboortedatum",
                "digest",
                "imported_at",
            ),
            [
                (
                    ref,
                    ch.registration_pupil[ref],
                    i.insz,
                    i.naam,
                    i.voornaam,
                    i.geboortedatum.isoformat(),
                    i.digest,
                    now,
                )
                for ref, i in ch.new_registrations.items()
            ],
        )
        db.executemany(
            "UPDATE registration SET pupil_id = ?, insz = ?, naam = ?, voornaam = ?, "
            "geboortedatum = ?, digest = ?, imported_at = ? WHERE referte = ?",
            [
                (
                    ch.registration_pupil[ref],
                    i.insz,
                    i.naam,
                    i.voornaam,
                    i.geboortedatum.isoformat(),
                    i.digest,
                    now,
                    ref,
                )
                for ref, i in ch.updated_registrations.items()
            ],
        )
        db.insert(
            "account",
            ("account_uuid", "pupil_id", "status", "referte", "created_at"),
            [(a, pid, status, ref, now) for a, (pid, status, ref) in ch.new_accounts.items()],
        )
        db.executemany(
            "UPDATE account SET status = 'retired', pupil_id = ?, retired_at = ? "
            "WHERE account_uuid = ?",
            [(pid, now, a) for a, pid in ch.retired_accounts.items()],
        )
        db.executemany(
            "UPDATE credential SET account_uuid = ? WHERE account_uuid = ?",
            [(to, frm) for frm, to in ch.credential_moves],
        )
        if ch.deleted_pupils:
            db.execute_in("DELETE FROM pupil", "id", sorted(ch.deleted_pupils))
        self.summary.pupils_identified += ch.leer_id_uuids_minted
        self.summary.accounts_created += len(ch.new_accounts)
        self.summary.accounts_retired += len(ch.retired_accounts)

    # -- step 2: inschrijvingen.csv -----------------------------------------------------------

    def read_enrolments(self, table: CsvTable) -> None:
        """Check each enrolment and its referte. Enrolments of registrations this import
        created are stored at once (there is nothing to replace); the others are staged and
        compared in step 3."""
        db = self.db
        db.create_temp_table(
            "stage_enrolment",
            "referte VARCHAR(32) NOT NULL, instellingsnummer VARCHAR(6) NOT NULL, "
            "administratieve_groep VARCHAR(6) NOT NULL, begindatum DATE NOT NULL, "
            "einddatum DATE",
        )
        staged: list[tuple[Any, ...]] = []
        unknown: list[EnrolmentRow] = []
        new = _NewEnrolments(self)
        seen = self.seen
        for count, (line, values) in enumerate(table.rows(), 1):
            if count % ENROLMENT_BATCH == 0:
                self.progress(ENROLMENT_FILE, table.bytes_read, table.size)
            row, problems = check_enrolment(line, values)
            if row is None:
                referte = values[0].strip()
                self.rejects.add(ENROLMENT_FILE, line, referte, problems)
                if referte and len(referte) <= REFERTE_MAX:
                    self.held.setdefault(referte, line)
                continue
            state = seen.get(row.referte)
            if state is None:
                unknown.append(row)
                if len(unknown) >= ENROLMENT_BATCH:
                    staged.extend(self._known_elsewhere(unknown))
                    unknown = []
            elif state == REJECTED:
                self._reject_orphan(row)
                continue
            elif state & STATE == CREATED:
                new.add(row, state)
            else:
                staged.append(self._staged(row))
            if len(staged) >= ENROLMENT_BATCH:
                self._stage(staged)
                staged = []
        staged.extend(self._known_elsewhere(unknown))
        self._stage(staged)
        new.finish()
        self._unstore_held_new()
        self.progress(ENROLMENT_FILE, table.size, table.size)

    def _unstore_held_new(self) -> None:
        """Registrations created by this import with a rejected enrolment row keep what they
        had before it: no enrolments (their valid rows were written on the way)."""
        refertes = sorted(r for r in self.held if self.seen.get(r, 0) & STATE == CREATED)
        if not refertes:
            return
        db = self.db
        counts = db.select_in("SELECT COUNT(*) FROM enrolment WHERE", "referte", refertes)
        db.execute_in("DELETE FROM enrolment", "referte", refertes)
        db.execute_in("DELETE FROM enrolment_digest", "referte", refertes)
        self.summary.enrolments_written -= sum(int(n) for (n,) in counts)

    def _staged(self, row: EnrolmentRow) -> tuple[Any, ...]:
        return (
            row.referte,
            row.instellingsnummer,
            row.administratieve_groep,
            row.begindatum.isoformat(),
            None if row.einddatum is None else row.einddatum.isoformat(),
        )

    def _stage(self, rows: list[tuple[Any, ...]]) -> None:
        self.db.insert("stage_enrolment", ENROLMENT_COLUMNS, rows)

    def _reject_orphan(self, row: EnrolmentRow) -> None:
        """Issue 2 §4: a rejected pupil row takes its enrolments with it."""
        self.rejects.add(
            ENROLMENT_FILE,
            row.line,
            row.referte,
            [
                Problem(
                    "referte",
                    f"de leerling met deze referte werd geweigerd ({PUPIL_FILE} regel "
                    f"{self.rejected_line[row.referte]}); verbeter die rij, dan wordt ook "
                    "deze inschrijving ingelezen",
                )
            ],
        )

    def _known_elsewhere(self, rows: list[EnrolmentRow]) -> Iterator[tuple[Any, ...]]:
        """Enrolments whose referte is not in this leerlingen.csv: kept if already known."""
        if not rows:
            return
        known = {
            r
            for (r,) in self.db.select_in(
                "SELECT referte FROM registration", "referte", sorted({r.referte for r in rows})
            )
        }
        for row in rows:
            if row.referte in known:
                yield self._staged(row)
            else:
                self.rejects.add(
                    ENROLMENT_FILE,
                    row.line,
                    row.referte,
                    [
                        Problem(
                            "referte",
                            f"referte is onbekend: ze staat niet in {PUPIL_FILE} van deze import "
                            "en werd ook nooit eerder ingelezen; voeg de leerling toe",
                        )
                    ],
                )

    # -- step 3: replace the enrolments that changed ------------------------------------------

    def store_enrolments(self) -> None:
        db = self.db
        (total,) = db.execute("SELECT COUNT(*) FROM stage_enrolment")[0]
        rows = db.stream(
            "SELECT referte, instellingsnummer, administratieve_groep, begindatum, einddatum "
            "FROM stage_enrolment ORDER BY referte"
        )
        batch: dict[str, list[tuple[str, str, str, str]]] = {}
        done = 0
        for referte, group in groupby(rows, key=lambda r: str(r[0])):
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
        db.drop_temp_table("stage_enrolment")
        # Refertes in leerlingen.csv without any enrolment now have none.
        empty = [
            r for r, s in self.seen.items() if s in (UNCHANGED, UPDATED) and r not in self.held
        ]
        stale = [
            r for (r,) in db.select_in("SELECT referte FROM enrolment_digest", "referte", empty)
        ]
        self._replace_enrolments({r: [] for r in stale})

    def _replace_enrolments(self, batch: dict[str, list[tuple[str, str, str, str]]]) -> None:
        if self.held:
            batch = {r: rows for r, rows in batch.items() if r not in self.held}
        if not batch:
            return
        db, seen, summary = self.db, self.seen, self.summary
        # A registration created by this import has no enrolments yet: no need to ask.
        stored = dict(
            db.select_in(
                "SELECT referte, digest FROM enrolment_digest",
                "referte",
                [r for r in batch if seen.get(r, 0) & STATE != CREATED],
            )
        )
        changed: list[tuple[str, str]] = []
        for referte, rows in batch.items():
            state = seen.get(referte)
            if state is not None:
                seen[referte] = state | HAS_ENROLMENTS
            digest = enrolments_digest(rows)
            if stored.get(referte, NO_ENROLMENTS) == digest:
                continue
            changed.append((referte, digest))
            if state is None:
                summary.registrations_updated += 1  # a referte only in inschrijvingen.csv
            elif state & STATE == UNCHANGED:
                summary.registrations_unchanged -= 1
                summary.registrations_updated += 1
                seen[referte] = UPDATED | HAS_ENROLMENTS
        if not changed:
            return
        db.execute_in("DELETE FROM enrolment", "referte", [r for r, _ in changed])
        new_rows = [
            (referte, inst, groep, begin, eind or None)
            for referte, _ in changed
            for inst, groep, begin, eind in batch[referte]
        ]
        db.insert(
            "enrolment",
            ("referte", "instellingsnummer", "administratieve_groep", "begindatum", "einddatum"),
            new_rows,
        )
        refertes = [r for r, _ in changed]
        db.execute_in("DELETE FROM enrolment_digest", "referte", refertes)
        db.insert(
            "enrolment_digest",
            ("digest", "referte"),
            [(d, r) for r, d in changed if d != NO_ENROLMENTS],
        )
        db.executemany(
            "UPDATE registration SET imported_at = ? WHERE referte = ?",
            [(self.now, r) for r in refertes],
        )
        summary.enrolments_written += len(new_rows)

    # -- step 4: list the rows held back by a rejected row of the same referte ---------------

    def report_held(self, path: Path) -> None:
        """Each valid enrolment row of a registration with a rejected enrolment row was not
        applied (issue 8 §1): it goes to the rejects file, pointing at the rejected line.

        Rows of a rejected pupil or of an unknown referte were reported already.
        """
        if not self.held:
            return
        seen = self.seen
        elsewhere = [r for r in self.held if r not in seen]
        registered = {
            r
            for (r,) in self.db.select_in("SELECT referte FROM registration", "referte", elsewhere)
        }
        held = {
            r: line
            for r, line in self.held.items()
            if (r in seen and seen[r] & STATE != REJECTED) or r in registered
        }
        if not held:
            return
        with CsvTable(path, ENROLMENT_COLUMNS) as table:
            for line, values in table.rows():
                referte = values[0].strip()
                if referte not in held:
                    continue
                row, _ = check_enrolment(line, values)
                if row is not None:
                    self.rejects.add(
                        ENROLMENT_FILE,
                        line,
                        referte,
                        [
                            Problem(
                                "referte",
                                f"niet ingelezen: regel {held[referte]} met dezelfde referte "
                                "werd geweigerd; de inschrijvingen van deze referte blijven "
                                "zoals ze waren tot die regel verbeterd is",
                            )
                        ],
                    )

    def finish(self) -> None:
        self._finish_sequence()
        summary = self.summary
        if self.db.postgres and summary.registrations_created + summary.registrations_updated > (
            ANALYZE_AFTER
        ):
            # Fresh statistics, so that the next logins and imports get index plans at once.
            self.db.execute("ANALYZE pupil, registration, account, enrolment, enrolment_digest")


class _NewEnrolments:
    """Enrolments of registrations created by this import, stored as they come.

    The digest of a registration's enrolments is computed per run of consecutive rows with
    the same referte (files are usually grouped by referte); a referte that comes back after
    another one is recomputed from the stored rows at the end.
    """

    def __init__(self, importer: _Importer) -> None:
        self.importer = importer
        self.rows: list[tuple[Any, ...]] = []
        self.digests: list[tuple[str, str]] = []
        self.run_referte: str | None = None
        self.run: list[tuple[str, str, str, str]] = []
        self.scattered: set[str] = set()

    def add(self, row: EnrolmentRow, state: int) -> None:
        if row.referte != self.run_referte:
            self._close_run()
            self.run_referte = row.referte
            if state & HAS_ENROLMENTS:
                self.scattered.add(row.referte)
            else:
                self.importer.seen[row.referte] = state | HAS_ENROLMENTS
        staged = self.importer._staged(row)
        self.run.append((staged[1], staged[2], staged[3], staged[4] or ""))
        self.rows.append(staged)
        if len(self.rows) >= ENROLMENT_BATCH:
            self._flush()

    def _close_run(self) -> None:
        if self.run_referte is not None and self.run_referte not in self.scattered:
            self.digests.append((enrolments_digest(self.run), self.run_referte))
        self.run_referte, self.run = None, []

    def _flush(self) -> None:
        db = self.importer.db
        db.insert("enrolment", ENROLMENT_COLUMNS, self.rows)
        db.insert("enrolment_digest", ("digest", "referte"), self.digests)
        self.importer.summary.enrolments_written += len(self.rows)
        self.rows, self.digests = [], []

    def finish(self) -> None:
        self._close_run()
        self._flush()
        if not self.scattered:
            return
        db = self.importer.db
        stored = db.select_in(
            "SELECT referte, instellingsnummer, administratieve_groep, begindatum, einddatum "
            "FROM enrolment",
            "referte",
            sorted(self.scattered),
        )
        by_referte: dict[str, list[tuple[str, str, str, str]]] = {}
        for referte, inst, groep, begin, eind in stored:
            by_referte.setdefault(referte, []).append(
                (inst, groep, str(begin), "" if eind is None else str(eind))
            )
        db.update_column(
            "enrolment_digest",
            "referte",
            "digest",
            [(enrolments_digest(rows), referte) for referte, rows in by_referte.items()],
        )


def _iso(day: object) -> str:
    assert isinstance(day, dt.date)
    return day.isoformat()


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
    required column.
    """
    folder = Path(directory)
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
        rejects = _Rejects(target)
        try:
            db = BulkConnection(engine)
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
            importer = _Importer(db, rejects, progress, today, dt.datetime.now(dt.UTC))
            importer.read_pupils(pupils)
            importer.read_enrolments(enrolments)
            importer.store_enrolments()
            importer.report_held(folder / ENROLMENT_FILE)
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
