"""A large DISCIMUS file is checked by a second process (``importing/checker.py``): the rows,
their problems and the file errors are exactly those of the checks in this process, row for
row and message for message, and nothing is lost when the second process goes away."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import os
import pickle
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from leerid.registry import importer
from leerid.registry.discimus import (
    ENROLMENT_COLUMNS,
    ENROLMENT_FILE,
    PUPIL_COLUMNS,
    PUPIL_FILE,
    CsvTable,
    ImportFileError,
    PupilRow,
)
from leerid.registry.generate import generate_registry
from leerid.registry.importing import checker
from leerid.registry.importing.checker import (
    CheckedRows,
    CheckerError,
    checked_enrolments,
    checked_pupils,
)
from leerid.schema import upgrade
from leerid.store.engine import make_engine
from tests.conftest import BACKENDS, fresh_database
from tests.registry.conftest import national_number, read_rejects, write_folder

pytestmark = pytest.mark.live  # the second process is a process: not a unit test

TODAY = dt.date(2026, 12, 1)
BORN = dt.date(2012, 3, 4)
LEERID = [sys.executable, "-m", "leerid.cli.main"]
counter = itertools.count()

# Cells a pupil or enrolment row may hold: valid values and each kind of mistake.
REFERTE = st.sampled_from(["R1", "R2", " R3 ", "", "x" * 40, "R\u202e4", "R5"])
INSZ = st.sampled_from([national_number(BORN), "", "12345678901", "12.03.04-001.", "abc"])
NAME = st.sampled_from(["Peeters", "", "Ann\x00a", "é" * 201, "Van den Broeck"])
DAY = st.sampled_from(["2012-03-04", "2012-13-01", "04/03/2012", "", "2999-01-01", "1899-12-31"])
CODE = st.sampled_from(["012345", "12345", "01234a", "", "٠١٢٣٤٥"])
PUPIL_ROW = st.tuples(REFERTE, INSZ, NAME, NAME, DAY)
ENROLMENT_ROW = st.tuples(
    REFERTE, CODE, CODE, DAY, st.sampled_from(["", "2013-06-30", "2011-01-01"])
)


def checked(table: CsvTable, kind: checker.Kind) -> CheckedRows[Any]:
    """The checked rows of ``table`` as the import gets them."""
    return checked_pupils(table, TODAY) if kind == "pupils" else checked_enrolments(table)


def both_ways(path: Path, kind: checker.Kind) -> tuple[list[Any], list[Any]]:
    """The checked rows in this process and through the second process."""
    columns = PUPIL_COLUMNS if kind == "pupils" else ENROLMENT_COLUMNS
    with CsvTable(path, columns) as table, checked(table, kind) as here:
        assert not here.second_process
        local = list(here)
    with CsvTable(path, columns) as table:
        table.size = checker.SECOND_PROCESS_FROM  # as large as a file that gets the process
        with checked(table, kind) as there:
            assert there.second_process
            remote = list(there)
            assert there.bytes_read == path.stat().st_size
    return local, remote


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    pupils=st.lists(PUPIL_ROW, max_size=30),
    enrolments=st.lists(ENROLMENT_ROW, max_size=30),
)
def test_the_second_process_finds_what_this_one_finds(
    tmp_path: Path,
    pupils: list[tuple[str, ...]],
    enrolments: list[tuple[str, ...]],
) -> None:
    """Issue 2 §4: every row with its line, referte, row and problems, in file order."""
    folder = write_folder(tmp_path / f"f{next(counter)}", pupils, enrolments)
    for name, kind in ((PUPIL_FILE, "pupils"), (ENROLMENT_FILE, "enrolments")):
        local, remote = both_ways(folder / name, kind)  # type: ignore[arg-type]
        assert remote == local
        assert len(local) == len(pupils if kind == "pupils" else enrolments)


def test_more_rows_than_a_batch_arrive_in_order(tmp_path: Path) -> None:
    generate_registry(tmp_path / "in", 12_000, seed=3)
    local, remote = both_ways(tmp_path / "in" / PUPIL_FILE, "pupils")
    assert len(local) == 12_000 > checker.BATCH
    assert remote == local


HEADER = b"referte,insz,naam,voornaam,geboortedatum\n"
GOOD = b"".join(b"R%d,,Peeters,Ann,2012-03-04\n" % i for i in range(3000))  # past one block


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (b"R9,,\xe9,B,2012-03-04\n", "line 3002 is not valid UTF-8"),
        (b'R9,"' + b"x" * 140_000, "line 3002: a field is longer than"),
    ],
)
def test_a_file_error_is_the_same_error_at_the_same_row(
    tmp_path: Path, bad: bytes, message: str
) -> None:
    """Issue 2 §4: a file that is not UTF-8 or not CSV stops the import with its line."""
    path = tmp_path / PUPIL_FILE
    path.write_bytes(HEADER + GOOD + bad)
    outcomes = []
    for size in (None, checker.SECOND_PROCESS_FROM):
        with CsvTable(path, PUPIL_COLUMNS) as table:
            if size is not None:
                table.size = size
            got: list[Any] = []
            with (
                checked_pupils(table, TODAY) as pupils,
                pytest.raises(ImportFileError) as err,
            ):
                got.extend(pupils)
            outcomes.append((got, str(err.value)))
    assert outcomes[0] == outcomes[1]
    assert message in outcomes[0][1]
    assert len(outcomes[0][0]) <= 3000  # the rows before it, as far as they were decoded


@pytest.mark.parametrize("second", [False, True])
def test_a_file_moved_over_the_path_during_the_import_is_not_read(
    tmp_path: Path, second: bool
) -> None:
    """Nothing mixed: the rows and the errors are those of the file the import opened, even
    when the next export is moved over its path while it runs (both ways of checking)."""
    path = tmp_path / PUPIL_FILE
    path.write_bytes(HEADER + GOOD + b"R9,,\xe9,B,2012-03-04\n")
    newer = tmp_path / "newer.csv"
    newer.write_bytes(HEADER + b"N1,,Janssens,Els,2013-01-02\n")
    with CsvTable(path, PUPIL_COLUMNS) as table:
        if second:
            table.size = checker.SECOND_PROCESS_FROM
        os.replace(newer, path)
        got: list[Any] = []
        with checked_pupils(table, TODAY) as pupils, pytest.raises(ImportFileError) as err:
            assert pupils.second_process is second
            got.extend(pupils)
    assert [row[1] for row in got] == [f"R{i}" for i in range(len(got))]
    assert "line 3002 is not valid UTF-8" in str(err.value)  # found in the file it read


def test_held_back_rows_are_reported_from_the_file_the_import_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 8 §1: a row held back by a rejected row of its referte is reported with its line
    in the file imported, even when the next export is moved over the path meanwhile."""
    folder = tmp_path / "in"
    generate_registry(folder, 3, seed=1)
    enrolments = folder / ENROLMENT_FILE
    lines = enrolments.read_text(encoding="utf-8").splitlines()
    held_line = next(i for i, line in enumerate(lines, 1) if line.startswith("S1-00000001,"))
    lines.append("S1-00000001,888599,683245,2026-13-01,")  # rejected: its referte is held
    enrolments.write_text("\n".join(lines) + "\n", encoding="utf-8")
    newer = tmp_path / "newer.csv"
    newer.write_text(
        lines[0] + "\n" + "S9-99999999,1,1,2026-09-01,\n" * 3 + "S1-00000001,111111,999999,"
        "2026-09-01,\n",
        encoding="utf-8",
    )
    report_held = importer._Import.report_held

    def next_export_lands(self: Any, table: CsvTable) -> None:
        os.replace(newer, enrolments)  # the next night's export, while this import runs
        report_held(self, table)

    monkeypatch.setattr(importer._Import, "report_held", next_export_lands)
    engine = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    upgrade(engine)
    importer.import_registry(engine, folder, tmp_path / "rejects.csv")
    engine.dispose()
    held = [r for r in read_rejects(tmp_path / "rejects.csv") if r["referte"] == "S1-00000001"]
    assert sorted(int(r["regel"]) for r in held) == [held_line, len(lines)]


MORE_THAN_WAITS = (checker.AHEAD + 14) * checker.BATCH
"""Rows: more than can wait in the queue and the pipe, so the child is still running."""


@contextmanager
def second_process(tmp_path: Path, seed: int) -> Iterator[CheckedRows[PupilRow]]:
    """The pupils of a file of ``MORE_THAN_WAITS`` rows, checked by a second process."""
    generate_registry(tmp_path / "in", MORE_THAN_WAITS, seed=seed)
    with CsvTable(tmp_path / "in" / PUPIL_FILE, PUPIL_COLUMNS) as table:
        table.size = checker.SECOND_PROCESS_FROM
        with checked_pupils(table, TODAY) as pupils:
            yield pupils


def test_leaving_early_stops_the_second_process(tmp_path: Path) -> None:
    with second_process(tmp_path, seed=4) as pupils:
        first = next(iter(pupils))
        child = pupils._child
    assert first[0] == 2
    assert child is not None and child.returncode == -signal.SIGKILL  # stopped, not done
    assert pupils._pump is not None and not pupils._pump.is_alive()


def test_a_bug_in_the_second_process_is_reported_without_a_value_of_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No personal data in an error: a failing check names its kind and place, never the row."""
    path = write_folder(tmp_path / "in", [("R1", "", "Peeters", "Ann", "2012-03-04")]) / PUPIL_FILE

    def broken(line: int, values: list[str], today: dt.date) -> Any:
        raise ValueError(f"cannot check {values}")

    monkeypatch.setattr(checker, "check_pupil", broken)
    out = io.BytesIO()
    checker._serve(path, os.open(path, os.O_RDONLY), "pupils", TODAY, out)
    frames, data = [], out.getvalue()
    while data:
        (size,) = struct.unpack("<I", data[:4])
        frames.append(pickle.loads(data[4 : 4 + size]))
        data = data[4 + size :]
    (tag, reason, _done), *_ = frames
    assert tag == checker._FAILED
    assert "after line 1" in reason and "ValueError" in reason and "Report this" in reason
    assert "Peeters" not in reason and "Ann" not in reason


def test_a_second_process_that_dies_fails_the_import_and_loses_nothing(tmp_path: Path) -> None:
    """Nothing is lost: a checker killed half-way is an error, never a shorter file."""
    with second_process(tmp_path, seed=5) as pupils:
        stream = iter(pupils)
        next(stream)  # the child now waits for room: it cannot have sent every row
        assert pupils._child is not None
        pupils._child.kill()
        got = 1
        with pytest.raises(CheckerError, match=r"was killed .* before the end of the file"):
            for _ in stream:
                got += 1
        assert got < MORE_THAN_WAITS


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_import_through_the_second_process_stores_what_one_without_it_stores(
    tmp_path: Path, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same registrations, accounts, enrolments and rejects, whichever way the rows were
    checked."""
    folder = tmp_path / "in"
    generate_registry(folder, 2_000, seed=6)
    with open(folder / PUPIL_FILE, "a", encoding="utf-8") as f:
        f.write("BAD1,12345678901,Peeters,Ann,2012-03-04\nBAD2,,Peeters,,2012-03-04\n")
    with open(folder / ENROLMENT_FILE, "a", encoding="utf-8") as f:
        f.write("BAD1,012345,000001,2024-09-01,\nNOPE,012345,000001,2024-09-01,\n")
    outcomes = []
    for threshold in (1 << 40, 0):  # in this process, then through the second one
        monkeypatch.setattr(checker, "SECOND_PROCESS_FROM", threshold)
        with fresh_database(backend, tmp_path, f"r{threshold}.db") as url:
            engine = make_engine(url)
            upgrade(engine)
            summary = importer.import_registry(engine, folder, tmp_path / f"rejects{threshold}.csv")
            with engine.connect() as conn:
                stored = [
                    sorted(map(repr, conn.execute(text(sql))))
                    for sql in (
                        "SELECT referte, insz, naam, voornaam, digest FROM registration",
                        "SELECT referte, status FROM account",
                        "SELECT referte, instellingsnummer, administratieve_groep, begindatum, "
                        "einddatum FROM enrolment",
                    )
                ]
            engine.dispose()
        rejects = read_rejects(tmp_path / f"rejects{threshold}.csv")
        outcomes.append((summary.registrations_created, summary.rejects, stored, rejects))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == 2_000
    assert {r["referte"] for r in outcomes[0][3]} == {"BAD1", "BAD2", "NOPE"}


def _checker_of(pid: int, seconds: float = 20) -> int:
    """The pid of the checker process that ``pid`` started (waits for it)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                command = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if int(stat[1]) == pid and b"leerid.registry.importing.checker" in command:
                return int(entry.name)
        time.sleep(0.05)
    raise AssertionError("the import started no checker process")


def _gone(pid: int, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":  # exited, waiting for its parent to collect it
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
@pytest.mark.parametrize("stop", ["ctrl-c", "kill the import"])
def test_an_interrupted_import_leaves_no_checker_and_no_traceback(
    tmp_path: Path, leerid_env: dict[str, str], stop: str
) -> None:
    """Ctrl-C reaches the whole process group: the import stops, rolls back and says nothing
    more than before; the checker shows no traceback. A killed import takes its checker with
    it (the checker's next write finds no reader)."""
    generate_registry(tmp_path / "in", 120_000, seed=8)  # leerlingen.csv over 4 MiB
    assert (tmp_path / "in" / PUPIL_FILE).stat().st_size >= checker.SECOND_PROCESS_FROM
    subprocess.run([*LEERID, "db", "upgrade"], env=leerid_env, check=True, capture_output=True)
    process = subprocess.Popen(
        [*LEERID, "registry", "import", str(tmp_path / "in")],
        env=leerid_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, as in a terminal
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    child = _checker_of(process.pid)
    assert os.getpgid(child) == child  # a group of its own: the terminal's Ctrl-C is not its
    if stop == "ctrl-c":
        os.killpg(process.pid, signal.SIGINT)
    else:
        process.kill()
    _, err = process.communicate(timeout=60)
    assert _gone(child)
    assert b"Traceback" not in err
    assert process.returncode == (130 if stop == "ctrl-c" else -signal.SIGKILL)
    engine = make_engine(leerid_env["LEERID_DATABASE_URL"])
    with engine.connect() as conn:  # one transaction: nothing of it was stored
        assert conn.execute(text("SELECT COUNT(*) FROM registration")).scalar() == 0
    engine.dispose()
