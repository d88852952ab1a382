"""Issue 8 §12: no CSV that leerid writes carries a spreadsheet formula (OWASP CSV injection).

Every CSV goes through ``leerid.csv_safe.SafeWriter``; a scan of src/ keeps it that way, and
the output of each writer is read back with hostile input in it.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine

from leerid.csv_safe import FORMULA_START, SafeWriter
from leerid.protocol import register
from leerid.protocol.model import PartyRole
from leerid.registry.importer import import_registry
from tests.protocol.helpers import seed
from tests.registry.conftest import write_folder

SRC = Path(__file__).resolve().parents[1] / "src" / "leerid"
HOSTILE = ['=HYPERLINK("http://evil.example","klik")', "+1+2", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


def assert_no_formula(text: str) -> None:
    for cell in cells(text):
        assert not cell.startswith(FORMULA_START), f"formula cell {cell!r}"


def test_every_csv_writer_in_src_is_the_safe_one() -> None:
    raw = re.compile(r"csv\.(writer|DictWriter)\(")
    offenders = [
        str(path.relative_to(SRC))
        for path in SRC.rglob("*.py")
        if path.name != "csv_safe.py" and raw.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == [], "write CSV with leerid.csv_safe.SafeWriter"


@given(st.lists(st.lists(st.one_of(st.sampled_from(HOSTILE), st.text()), max_size=4), max_size=4))
def test_safe_writer_never_writes_a_formula_and_loses_nothing(rows: list[list[str]]) -> None:
    buffer = io.StringIO(newline="")
    SafeWriter(buffer).writerows(rows)
    back = list(csv.reader(io.StringIO(buffer.getvalue(), newline="")))
    flat_in = [cell for row in rows for cell in row]
    flat_out = [cell for row in back for cell in row]
    for before, after in zip(flat_in, flat_out, strict=False):
        assert not after.startswith(FORMULA_START)
        assert after == (f"'{before}" if before.startswith(FORMULA_START) else before)


def test_rejects_file_carries_no_formula(engine: Engine, tmp_path: Path) -> None:
    """The issue's example: a referte holding =HYPERLINK(...) in a rejected row."""
    pupils = [[ref, "", "", "An", "2012-01-01"] for ref in HOSTILE[:4]]
    enrolments = [[ref, "1", "000001", "2025-09-01", ""] for ref in HOSTILE]
    summary = import_registry(engine, write_folder(tmp_path / "in", pupils, enrolments))
    assert summary.rejects == len(pupils) + len(enrolments)
    text = summary.rejects_path.read_text(encoding="utf-8")
    assert "'=HYPERLINK(" in text
    assert_no_formula(text)


def test_register_csv_carries_no_formula() -> None:
    record = register.processing_record(seed(), PartyRole.RECIPIENT, dt.datetime.now(dt.UTC))
    hostile = dataclasses.replace(record, activity=HOSTILE[0], purposes=("-weg", "@x"))
    assert_no_formula(register._csv([hostile]))
