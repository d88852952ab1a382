"""The DISCIMUS import format: two UTF-8 CSV files, read as a stream and checked row by row.

``leerlingen.csv`` (referte, insz, naam, voornaam, geboortedatum) and ``inschrijvingen.csv``
(referte, instellingsnummer, administratieve_groep, begindatum, einddatum); column order
may vary, extra columns are ignored, a missing required column is fatal (issue 2 §3).
Reasons for a rejected row are in Dutch, for the school administrator who fixes the file.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from leerid.errors import LeeridError
from leerid.registry.insz import check_insz, compact_insz

__all__ = [
    "ENROLMENT_COLUMNS",
    "ENROLMENT_FILE",
    "PUPIL_COLUMNS",
    "PUPIL_FILE",
    "CsvTable",
    "EnrolmentRow",
    "ImportFileError",
    "Problem",
    "PupilRow",
    "check_enrolment",
    "check_pupil",
    "visible",
]

PUPIL_FILE = "leerlingen.csv"
ENROLMENT_FILE = "inschrijvingen.csv"
PUPIL_COLUMNS = ("referte", "insz", "naam", "voornaam", "geboortedatum")
ENROLMENT_COLUMNS = (
    "referte",
    "instellingsnummer",
    "administratieve_groep",
    "begindatum",
    "einddatum",
)
REFERTE_MAX = 32
NAME_MAX = 200
FIELD_MAX = csv.field_size_limit()
_HIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
"""Control characters (C0, C1, line breaks inside a field) and the bidirectional formatting
characters (U+202E "right-to-left override" and its kin) that make a text look different
from what it is: never part of a name or a referte."""
EARLIEST_BIRTH = dt.date(1900, 1, 1)


class ImportFileError(LeeridError):
    """A file of the import is missing, unreadable or lacks a required column: nothing is
    imported (issue 2 §4, exit status 2)."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a row is rejected: the column and a reason a school administrator understands."""

    column: str
    reason: str


@dataclass(frozen=True, slots=True)
class PupilRow:
    """A valid row of ``leerlingen.csv``; ``insz`` is None for a pupil not identified."""

    line: int
    referte: str
    insz: str | None
    naam: str
    voornaam: str
    geboortedatum: dt.date


@dataclass(frozen=True, slots=True)
class EnrolmentRow:
    """A valid row of ``inschrijvingen.csv``; ``einddatum`` None while still enrolled."""

    line: int
    referte: str
    instellingsnummer: str
    administratieve_groep: str
    begindatum: dt.date
    einddatum: dt.date | None


class CsvTable:
    """One CSV file of the import, read as a stream of ``(line, values)`` in column order.

    Opening checks the header (fatal errors name the file and the column); ``rows`` yields
    each record with the physical line it starts on (the header is line 1); ``bytes_read``
    tells how far the file has been read, for a progress bar.
    """

    def __init__(
        self, path: Path, columns: tuple[str, ...], *, descriptor: int | None = None
    ) -> None:
        """Open ``path``; or, with ``descriptor``, read the file open on it from its start
        (``path`` then only names it in messages) and close the descriptor with the table."""
        self.path = path
        self.name = path.name
        self.columns = columns
        try:
            source = path if descriptor is None else descriptor
            raw = open(source, "rb", buffering=0)  # noqa: SIM115 - closed in close()
        except FileNotFoundError:
            raise ImportFileError(
                f"{path}: file not found. An import folder holds {PUPIL_FILE} and "
                f"{ENROLMENT_FILE}; nothing was imported."
            ) from None
        except OSError as exc:
            if descriptor is not None:
                with contextlib.suppress(OSError):
                    os.close(descriptor)  # ours to close, as with the table
            raise ImportFileError(
                f"{path}: cannot be read ({exc.strerror}); nothing was imported."
            ) from None
        self._raw = raw  # closed by close(), or below when the header is refused
        try:
            self._open_header(descriptor is not None)
        except BaseException:
            self.close()
            raise

    def _open_header(self, handed: bool) -> None:
        """The file's size (of the file read, not of what the path names a moment later),
        then its header, checked; the error names the file and the column."""
        path, columns = self.path, self.columns
        try:
            if handed:
                self._raw.seek(0)
            self.size = os.fstat(self._raw.fileno()).st_size
        except OSError as exc:
            raise ImportFileError(
                f"{path}: cannot be read ({exc.strerror}); nothing was imported."
            ) from None
        text = io.TextIOWrapper(io.BufferedReader(self._raw, 1 << 16), "utf-8-sig", newline="")
        self._reader = csv.reader(text)
        header = self._next_record()
        if header is None:
            raise ImportFileError(
                f"{path}: the file is empty; the first line must be the header "
                f"({','.join(columns)}). Nothing was imported."
            )
        names = [h.strip().lower() for h in header]
        if len(names) == 1 and ";" in names[0]:
            raise ImportFileError(
                f"{path}: the columns are separated by ';' instead of ','; save the file as "
                "CSV with commas (in a spreadsheet program: 'CSV UTF-8 (comma delimited)'). "
                "Nothing was imported."
            )
        for name in columns:
            if names.count(name) > 1:
                raise ImportFileError(
                    f"{path}: column {name!r} appears twice in the header; keep one. "
                    "Nothing was imported."
                )
        missing = [name for name in columns if name not in names]
        if missing:
            raise ImportFileError(
                f"{path}: required column {missing[0]!r} is missing from the header "
                f"(found: {', '.join(n for n in names if n) or 'no columns'}; required: "
                f"{', '.join(columns)}). Add it and run the import again; nothing was imported."
            )
        self._index = [names.index(name) for name in columns]

    def _next_record(self) -> list[str] | None:
        try:
            return next(self._reader)
        except StopIteration:
            return None
        except UnicodeDecodeError:
            where = first_bad_utf8(self._raw.fileno())
            raise ImportFileError(
                f"{self.path}: "
                + ("a line" if where is None else f"line {where[0]}")
                + " is not valid UTF-8"
                + (
                    ""
                    if where is None
                    else f" (byte 0x{where[2]:02X} at byte {where[1]} of the line)"
                )
                + "; save the file as UTF-8 (not Latin-1 or Windows-1252) "
                "and run the import again. Nothing was imported."
            ) from None
        except csv.Error as exc:
            if "field limit" in str(exc):
                raise ImportFileError(
                    f"{self.path}: line {self._reader.line_num}: a field is longer than "
                    f'{FIELD_MAX} characters (often a quote " that is never closed); fix that '
                    "line. Nothing was imported."
                ) from None
            raise ImportFileError(
                f"{self.path}: line {self._reader.line_num} cannot be read as CSV ({exc}); "
                "nothing was imported."
            ) from None

    def fileno(self) -> int:
        """The descriptor the file is read through (to hand the same file to a process)."""
        return self._raw.fileno()

    @property
    def bytes_read(self) -> int:
        """How many bytes of the file have been read so far."""
        return self._raw.tell()

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """Each data record as (line number, values of the required columns in order)."""
        index = self._index
        width = max(index) + 1
        reader = self._reader
        start = reader.line_num + 1
        while (record := self._next_record()) is not None:
            line, start = start, reader.line_num + 1
            if not record or (len(record) == 1 and not record[0].strip()):
                continue  # a blank line
            if len(record) < width:
                record = record + [""] * (width - len(record))
            yield line, [record[i] for i in index]

    def close(self) -> None:
        """Close the file."""
        self._raw.close()

    def __enter__(self) -> CsvTable:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def first_bad_utf8(descriptor: int) -> tuple[int, int, int] | None:
    """Where the first byte that is not UTF-8 is: (line, byte in that line from 1, the byte).

    The decoder reads the file in blocks, so its error does not tell the line; the file open
    on ``descriptor`` (the one that failed, even if its path names another file by now) is
    read again from its start, line by line (a UTF-8 sequence never contains a newline
    byte). Its reading position is lost: the table cannot go on after this error anyway.
    """
    with open(os.dup(descriptor), "rb") as raw:
        raw.seek(0)
        for line, data in enumerate(raw, 1):
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as exc:
                return line, exc.start + 1, data[exc.start]
    return None  # the file changed since


def parse_iso_date(value: str) -> dt.date | None:
    """A date written ``YYYY-MM-DD``, or None when it is not one."""
    if len(value) != 10 or value[4] != "-" or value[7] != "-":
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _bad_date(column: str) -> Problem:
    return Problem(column, f"{column} is geen geldige datum; schrijf JJJJ-MM-DD, bv. 2024-09-01")


def _hidden(column: str) -> Problem:
    return Problem(
        column,
        f"{column} bevat een onzichtbaar stuurteken (bv. een regeleinde, een NUL-teken "
        "of een teken dat de schrijfrichting omkeert); verwijder het",
    )


def visible(text: str) -> str:
    """``text`` with each control or bidirectional formatting character shown as U+FFFD."""
    return text if text.isprintable() else _HIDDEN.sub("\ufffd", text)


def check_referte(value: str, problems: list[Problem]) -> str:
    """The referte, stripped; a problem when it is empty, longer than 32 characters or holds
    a control character."""
    referte = value.strip()
    if not referte:
        problems.append(Problem("referte", "referte is leeg; elke rij heeft een referte nodig"))
    elif len(referte) > REFERTE_MAX:
        problems.append(
            Problem("referte", f"referte is langer dan {REFERTE_MAX} tekens ({len(referte)})")
        )
    elif not referte.isprintable() and _HIDDEN.search(referte):  # isprintable: fast path
        problems.append(_hidden("referte"))
    return referte


def _check_name(column: str, value: str, problems: list[Problem]) -> str:
    name = value.strip()
    if not name:
        problems.append(Problem(column, f"{column} is leeg; vul de officiële {column} in"))
    elif len(name) > NAME_MAX:
        problems.append(Problem(column, f"{column} is langer dan {NAME_MAX} tekens"))
    elif not name.isprintable() and _HIDDEN.search(name):  # isprintable: fast path
        problems.append(_hidden(column))
    return name


def check_pupil(
    line: int, values: list[str], today: dt.date
) -> tuple[PupilRow | None, list[Problem]]:
    """Issue 2 §4: a row of leerlingen.csv, or the problems that reject it."""
    problems: list[Problem] = []
    referte = check_referte(values[0], problems)
    naam = _check_name("naam", values[2], problems)
    voornaam = _check_name("voornaam", values[3], problems)
    geboortedatum = parse_iso_date(values[4].strip())
    if geboortedatum is None:
        problems.append(_bad_date("geboortedatum"))
    elif geboortedatum > today:
        problems.append(Problem("geboortedatum", "geboortedatum ligt in de toekomst"))
    elif geboortedatum < EARLIEST_BIRTH:
        problems.append(Problem("geboortedatum", "geboortedatum ligt voor 1900"))
    insz: str | None = compact_insz(values[1]) or None
    if insz is not None:
        if len(insz) != 11 or not insz.isdigit():
            problems.append(
                Problem(
                    "insz",
                    "insz moet precies 11 cijfers tellen (rijksregister- of BIS-nummer), "
                    "of leeg zijn voor een leerling zonder INSZ",
                )
            )
        else:
            checked = check_insz(insz, today)
            if not checked.valid:
                problems.append(
                    Problem(
                        "insz",
                        "insz is geen geldig rijksregister- of BIS-nummer (de controlecijfers "
                        "of de maand kloppen niet); controleer het nummer",
                    )
                )
            elif (
                checked.birth_date is not None
                and geboortedatum is not None
                and checked.birth_date != geboortedatum
            ):
                problems.append(
                    Problem(
                        "geboortedatum",
                        f"geboortedatum spreekt het INSZ tegen: het INSZ hoort bij een "
                        f"geboortedatum {checked.birth_date.isoformat()}; verbeter een van beide",
                    )
                )
    if problems or geboortedatum is None:
        return None, problems
    return PupilRow(line, referte, insz, naam, voornaam, geboortedatum), problems


def _check_code(column: str, value: str, problems: list[Problem]) -> str:
    code = value.strip()
    if len(code) != 6 or not code.isdigit() or not code.isascii():
        problems.append(Problem(column, f"{column} moet uit precies 6 cijfers bestaan, bv. 012345"))
    return code


def check_enrolment(line: int, values: list[str]) -> tuple[EnrolmentRow | None, list[Problem]]:
    """Issue 2 §4: a row of inschrijvingen.csv, or the problems that reject it.

    Whether its referte is known is decided by the importer (it needs the registry).
    """
    problems: list[Problem] = []
    referte = check_referte(values[0], problems)
    instellingsnummer = _check_code("instellingsnummer", values[1], problems)
    groep = _check_code("administratieve_groep", values[2], problems)
    begindatum = parse_iso_date(values[3].strip())
    if begindatum is None:
        problems.append(_bad_date("begindatum"))
    eind_text = values[4].strip()
    einddatum = parse_iso_date(eind_text) if eind_text else None
    if eind_text and einddatum is None:
        problems.append(_bad_date("einddatum"))
    if begindatum is not None and einddatum is not None and einddatum < begindatum:
        problems.append(
            Problem("einddatum", "einddatum ligt voor begindatum; verbeter een van beide")
        )
    if problems or begindatum is None:
        return None, problems
    return EnrolmentRow(line, referte, instellingsnummer, groep, begindatum, einddatum), problems
