"""The import's writer: reads what the planner needs and writes what it decided, in bulk.

Both backends go through ``BulkConnection`` (``registry/bulk.py``), the small interface
that holds the SQLite and PostgreSQL paths (``COPY`` and a background writer on
PostgreSQL); what differs here is only the pupil id sequence, which PostgreSQL keeps apart.
Rows are written in an order the foreign keys accept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from leerid.registry.bulk import BulkConnection
from leerid.registry.changes import CHANGE_COLUMNS, FEED_LOCK, Change, ChangeKind, change_rows
from leerid.registry.discimus import ENROLMENT_COLUMNS, EnrolmentRow
from leerid.registry.identities import (
    AccountState,
    Changes,
    IdentityBook,
    Incoming,
    KnownRegistration,
    PupilState,
)
from leerid.registry.importing.planner import NO_ENROLMENTS, Enrolment

__all__ = ["ANALYZE_AFTER", "RegistryWriter", "staged"]

ANALYZE_AFTER = 10_000
PUPIL_COLUMNS = (
    "id",
    "leer_id_uuid",
    "insz",
    "naam",
    "voornaam",
    "geboortedatum",
    "created_at",
    "updated_at",
)
REGISTRATION_COLUMNS = (
    "referte",
    "pupil_id",
    "insz",
    "naam",
    "voornaam",
    "geboortedatum",
    "digest",
    "imported_at",
)


def staged(row: EnrolmentRow) -> tuple[Any, ...]:
    """An enrolment row as it is written (``ENROLMENT_COLUMNS``, dates as ISO text)."""
    return (
        row.referte,
        row.instellingsnummer,
        row.administratieve_groep,
        row.begindatum.isoformat(),
        None if row.einddatum is None else row.einddatum.isoformat(),
    )


def _iso(day: object) -> str:
    assert isinstance(day, dt.date)
    return day.isoformat()


class RegistryWriter:
    """The registry tables as the import reads and writes them, in one transaction."""

    def __init__(self, db: BulkConnection, now: dt.datetime) -> None:
        self.db = db
        self.now = db.value(now)
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

    def take_pupil_id(self) -> int:
        """The next free pupil id."""
        pupil_id = self._next_id
        self._next_id += 1
        self._assigned += 1
        return pupil_id

    def finish(self, changed: int) -> None:
        """Move the id sequence past the ids taken; after many changes, fresh statistics."""
        if self.db.postgres and self._assigned:
            self.db.execute(
                "SELECT setval(pg_get_serial_sequence('pupil', 'id'), ?)", (self._next_id - 1,)
            )
        if self.db.postgres and changed > ANALYZE_AFTER:
            # Fresh statistics, so that the next logins and imports get index plans at once.
            self.db.execute("ANALYZE pupil, registration, account, enrolment, enrolment_digest")

    # -- registrations -----------------------------------------------------------------------

    def known_registrations(self, refertes: list[str]) -> dict[str, KnownRegistration]:
        """The stored registrations of these refertes."""
        return {
            referte: KnownRegistration(pupil_id, insz, digest)
            for referte, pupil_id, insz, digest in self.db.select_in(
                "SELECT referte, pupil_id, insz, digest FROM registration", "referte", refertes
            )
        }

    def registered(self, refertes: list[str]) -> set[str]:
        """Those of these refertes the registry holds."""
        return {
            r for (r,) in self.db.select_in("SELECT referte FROM registration", "referte", refertes)
        }

    def load_book(self, known: dict[str, KnownRegistration], todo: list[Incoming]) -> IdentityBook:
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
            next_pupil_id=self.take_pupil_id,
        )

    def write(self, changes: Changes) -> None:
        """Write what the rules decided, in an order the foreign keys accept."""
        self._write_pupils(changes)
        self._write_registrations(changes)
        self._write_accounts(changes)
        self._record_identifications(changes)
        if changes.deleted_pupils:
            self.db.execute_in("DELETE FROM pupil", "id", sorted(changes.deleted_pupils))

    def _write_pupils(self, ch: Changes) -> None:
        db, now = self.db, self.now
        db.insert(
            "pupil",
            PUPIL_COLUMNS,
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

    def _write_registrations(self, ch: Changes) -> None:
        db = self.db
        db.insert(
            "registration",
            REGISTRATION_COLUMNS,
            self._registration_rows(ch.new_registrations, ch.registration_pupil),
        )
        db.executemany(
            "UPDATE registration SET pupil_id = ?, insz = ?, naam = ?, voornaam = ?, "
            "geboortedatum = ?, digest = ?, imported_at = ? WHERE referte = ?",
            [
                row[1:] + row[:1]  # the referte goes last, in the WHERE
                for row in self._registration_rows(ch.updated_registrations, ch.registration_pupil)
            ],
        )

    def _registration_rows(
        self, registrations: dict[str, Incoming], pupil: dict[str, int]
    ) -> list[tuple[Any, ...]]:
        """Rows of ``REGISTRATION_COLUMNS``."""
        now = self.now
        return [
            (
                ref,
                pupil[ref],
                i.insz,
                i.naam,
                i.voornaam,
                i.geboortedatum.isoformat(),
                i.digest,
                now,
            )
            for ref, i in registrations.items()
        ]

    def _write_accounts(self, ch: Changes) -> None:
        db, now = self.db, self.now
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

    def _record_identifications(self, ch: Changes) -> None:
        """Issue 10, point 3: an ``account-identified`` change per identification, in the
        import's transaction, in one statement per batch (the feed's lock first, PostgreSQL)."""
        if not ch.identified:
            return
        changes = [
            Change(
                ChangeKind.ACCOUNT_IDENTIFIED,
                leer_id_uuid=leer_id_uuid,
                account_uuids=retired,
                payload={
                    "leer_id_uuid": leer_id_uuid,
                    "account_uuid": permanent,
                    "historiek_account_uuid": list(historiek),
                },
            )
            for leer_id_uuid, permanent, retired, historiek in ch.identified
        ]
        rows = change_rows(changes, dt.datetime.now(dt.UTC))
        if self.db.postgres:
            self.db.execute("SELECT pg_advisory_xact_lock_shared(?)", (FEED_LOCK,))
        else:
            rows = [(r[0], self.db.value(r[1]), *r[2:]) for r in rows]
        self.db.insert("dov_change", CHANGE_COLUMNS, rows)

    # -- enrolments --------------------------------------------------------------------------

    def create_stage(self) -> None:
        """A temporary table for the enrolments to compare with the stored ones."""
        self.db.create_temp_table(
            "stage_enrolment",
            "referte VARCHAR(32) NOT NULL, instellingsnummer VARCHAR(6) NOT NULL, "
            "administratieve_groep VARCHAR(6) NOT NULL, begindatum DATE NOT NULL, "
            "einddatum DATE",
        )

    def stage(self, rows: list[tuple[Any, ...]]) -> None:
        """Add rows (as ``staged`` gives them) to the stage."""
        self.db.insert("stage_enrolment", ENROLMENT_COLUMNS, rows)

    def staged_count(self) -> int:
        (total,) = self.db.execute("SELECT COUNT(*) FROM stage_enrolment")[0]
        return int(total)

    def staged_rows(self) -> Iterator[tuple[Any, ...]]:
        """The staged enrolments, sorted by referte (streamed)."""
        return self.db.stream(
            "SELECT referte, instellingsnummer, administratieve_groep, begindatum, einddatum "
            "FROM stage_enrolment ORDER BY referte"
        )

    def drop_stage(self) -> None:
        self.db.drop_temp_table("stage_enrolment")

    def add_enrolments(self, rows: list[tuple[Any, ...]], digests: list[tuple[str, str]]) -> None:
        """Enrolments of new registrations, with the ``(digest, referte)`` of their lists."""
        self.db.insert("enrolment", ENROLMENT_COLUMNS, rows)
        self.db.insert("enrolment_digest", ("digest", "referte"), digests)

    def stored_enrolments(self, refertes: list[str]) -> dict[str, list[Enrolment]]:
        """The stored enrolment lists of these refertes."""
        stored = self.db.select_in(
            "SELECT referte, instellingsnummer, administratieve_groep, begindatum, einddatum "
            "FROM enrolment",
            "referte",
            refertes,
        )
        by_referte: dict[str, list[Enrolment]] = {}
        for referte, inst, groep, begin, eind in stored:
            by_referte.setdefault(referte, []).append(
                (inst, groep, str(begin), "" if eind is None else str(eind))
            )
        return by_referte

    def set_digests(self, pairs: list[tuple[str, str]]) -> None:
        """Set the stored ``(digest, referte)`` of enrolment lists."""
        self.db.update_column("enrolment_digest", "referte", "digest", pairs)

    def remove_enrolments(self, refertes: list[str]) -> int:
        """Delete the enrolments of these refertes; how many there were."""
        db = self.db
        counts = db.select_in("SELECT COUNT(*) FROM enrolment WHERE", "referte", refertes)
        db.execute_in("DELETE FROM enrolment", "referte", refertes)
        db.execute_in("DELETE FROM enrolment_digest", "referte", refertes)
        return sum(int(n) for (n,) in counts)

    def stored_digests(self, refertes: list[str]) -> dict[str, str]:
        """referte → digest of its stored enrolment list (none for an empty list)."""
        return dict(
            self.db.select_in("SELECT referte, digest FROM enrolment_digest", "referte", refertes)
        )

    def with_enrolments(self, refertes: list[str]) -> list[str]:
        """Those of these refertes that have stored enrolments."""
        return [
            r
            for (r,) in self.db.select_in(
                "SELECT referte FROM enrolment_digest", "referte", refertes
            )
        ]

    def replace_enrolments(
        self, changed: list[tuple[str, str]], lists: dict[str, list[Enrolment]]
    ) -> int:
        """Replace the enrolments of each changed ``(referte, digest)``; rows written."""
        db = self.db
        refertes = [r for r, _ in changed]
        db.execute_in("DELETE FROM enrolment", "referte", refertes)
        new_rows = [
            (referte, inst, groep, begin, eind or None)
            for referte, _ in changed
            for inst, groep, begin, eind in lists[referte]
        ]
        db.insert("enrolment", ENROLMENT_COLUMNS, new_rows)
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
        return len(new_rows)
