"""Row validation of the DISCIMUS files: each rejection rule of issue 2 §4 names the column."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leerid.registry.discimus import (
    PUPIL_COLUMNS,
    CsvTable,
    ImportFileError,
    check_enrolment,
    check_pupil,
)
from tests.registry.conftest import national_number

TODAY = dt.date(2026, 11, 28)
BORN = dt.date(2012, 3, 31)
INSZ = national_number(BORN, 17)


def problems_of(values: list[str]) -> dict[str, str]:
    row, problems = check_pupil(2, values, TODAY)
    assert (row is None) == bool(problems)
    return {p.column: p.reason for p in problems}


def test_valid_pupil_rows() -> None:
    row, problems = check_pupil(5, ["R1", INSZ, " Peeters ", "An", "2012-03-31"], TODAY)
    assert problems == [] and row is not None
    assert (row.line, row.insz, row.naam, row.geboortedatum) == (5, INSZ, "Peeters", BORN)
    row, _ = check_pupil(6, ["R2", "", "Peeters", "An", "2012-03-31"], TODAY)
    assert row is not None and row.insz is None  # not identified
    formatted = f"{INSZ[:2]}.{INSZ[2:4]}.{INSZ[4:6]}-{INSZ[6:9]}.{INSZ[9:]}"
    row, _ = check_pupil(7, ["R3", formatted, "Peeters", "An", "2012-03-31"], TODAY)
    assert row is not None and row.insz == INSZ


def test_pupil_rejection_reasons_name_the_column() -> None:
    assert "insz" in problems_of(["R", INSZ[:-1] + "0", "P", "A", "2012-03-31"])
    assert "11 cijfers" in problems_of(["R", "123", "P", "A", "2012-03-31"])["insz"]
    contradiction = problems_of(["R", INSZ, "P", "A", "2012-04-01"])
    assert "2012-03-31" in contradiction["geboortedatum"]
    assert "leeg" in problems_of(["R", "", " ", "A", "2012-03-31"])["naam"]
    assert "leeg" in problems_of(["R", "", "P", "", "2012-03-31"])["voornaam"]
    assert "JJJJ-MM-DD" in problems_of(["R", "", "P", "A", "31/03/2012"])["geboortedatum"]
    assert "JJJJ-MM-DD" in problems_of(["R", "", "P", "A", "2012-02-30"])["geboortedatum"]
    assert "toekomst" in problems_of(["R", "", "P", "A", "2027-01-01"])["geboortedatum"]
    assert "leeg" in problems_of(["", "", "P", "A", "2012-03-31"])["referte"]
    assert "32" in problems_of(["R" * 33, "", "P", "A", "2012-03-31"])["referte"]
    several = problems_of(["R", "1", "", "", "x"])
    assert set(several) == {"insz", "naam", "voornaam", "geboortedatum"}


def test_enrolment_rules() -> None:
    ok, problems = check_enrolment(3, ["R1", "012345", "000123", "2026-09-01", ""])
    assert problems == [] and ok is not None
    assert ok.instellingsnummer == "012345" and ok.einddatum is None
    cases = {
        "instellingsnummer": ["R1", "12345", "000123", "2026-09-01", ""],
        "administratieve_groep": ["R1", "012345", "12a456", "2026-09-01", ""],
        "begindatum": ["R1", "012345", "000123", "", ""],
        "einddatum": ["R1", "012345", "000123", "2026-09-01", "2026-08-31"],
    }
    for column, values in cases.items():
        row, problems = check_enrolment(3, values)
        assert row is None and [p.column for p in problems] == [column], column


@given(st.dates(dt.date(1990, 1, 1), TODAY), st.dates(dt.date(1990, 1, 1), TODAY))
def test_insz_against_birth_date(born: dt.date, written: dt.date) -> None:
    """A national number is accepted exactly when the written birth date is the encoded one."""
    row, problems = check_pupil(
        2, ["R", national_number(born, 5), "P", "A", written.isoformat()], TODAY
    )
    assert (row is not None) == (born == written)
    if born != written:
        assert [p.column for p in problems] == ["geboortedatum"]


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"referte;insz;naam\n", "separated by ';'"),
        (b"referte,insz\n", "required column 'naam' is missing"),
        (b"referte,\xe9\n", "line 1 is not valid UTF-8"),
    ],
)
def test_a_refused_header_leaves_no_file_open(tmp_path: Path, content: bytes, message: str) -> None:
    """Nothing kept open by an import that stops at a header: opened by path or handed over."""
    path = tmp_path / "leerlingen.csv"
    path.write_bytes(content)
    before = _open_descriptors()
    with pytest.raises(ImportFileError, match=message):
        CsvTable(path, PUPIL_COLUMNS)
    handed = os.open(path, os.O_RDONLY)
    with pytest.raises(ImportFileError, match=message):
        CsvTable(path, PUPIL_COLUMNS, descriptor=handed)
    assert _open_descriptors() == before  # the handed descriptor was closed with the table
