"""The importer's bad-input suite (issue 8, guards): hostile and broken DISCIMUS files, run
through the real command-line entry point (``leerid.cli.main.main``) on SQLite and
PostgreSQL. Each case is refused or stored as docs/discimus-format.md says, with the
expected exit status and reject reason, never a crash or a traceback.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from leerid.cli.main import main
from leerid.csv_safe import FORMULA_START
from tests.registry.conftest import national_number

BORN = dt.date(2012, 4, 5)
NN = national_number(BORN, 21)
PUPIL_HEADER = "referte,insz,naam,voornaam,geboortedatum\n"
ENROLMENT_HEADER = "referte,instellingsnummer,administratieve_groep,begindatum,einddatum\n"
GOOD_PUPIL = f"R1,{NN},Peeters,An,{BORN}\n"
GOOD_ENROLMENT = "R1,012345,000001,2025-09-01,\n"


def pupils(*rows: str, header: str = PUPIL_HEADER, encoding: str = "utf-8") -> bytes:
    return (header + GOOD_PUPIL + "".join(rows)).encode(encoding)


def filler(n: int) -> str:
    """n valid pupil rows without INSZ (referte F0..)."""
    return "".join(f"F{i},,Claes,Bo,2012-01-01\n" for i in range(n))


@dataclass(frozen=True)
class Case:
    """One bad input: the bytes of both files, what the command must answer."""

    id: str
    leerlingen: bytes
    inschrijvingen: bytes = (ENROLMENT_HEADER + GOOD_ENROLMENT).encode()
    exit: int = 0
    message: str = ""
    """Part of the error message (exit 2) or of the output (exit 0)."""
    rejects: tuple[tuple[str, int, str, str], ...] = ()
    """(file, line, column, part of the reason) of each rejected row."""
    stored: dict[str, str] = field(default_factory=dict)
    """naam/voornaam of R1 as stored, when the case is about what is stored."""
    target: Callable[[Path], Path] = lambda folder: folder


HIDDEN = "onzichtbaar stuurteken"
CASES = [
    Case("bom", b"\xef\xbb\xbf" + pupils(), stored={"naam": "Peeters"}),
    Case(
        "crlf",
        pupils("R2,,Claes,Bo,2012-01-01\r\n").replace(b"\n", b"\r\n").replace(b"\r\r", b"\r"),
        (ENROLMENT_HEADER + GOOD_ENROLMENT).replace("\n", "\r\n").encode(),
        stored={"naam": "Peeters", "voornaam": "An"},
    ),
    Case(
        "latin-1",
        pupils("R2,,Beyoncé,Bo,2012-01-01\n", encoding="latin-1"),
        exit=2,
        message="line 3 is not valid UTF-8 (byte 0xE9",
    ),
    Case(
        "bad-byte-after-long-lines",
        pupils(filler(3000)) + b"R2,,Cla\xe9s,Bo,2012-01-01\n",
        exit=2,
        message="line 3003 is not valid UTF-8",
    ),
    Case(
        "bad-byte-in-last-line-without-newline",
        pupils(filler(5)) + b"R9,,Jan\xff",
        exit=2,
        message="line 8 is not valid UTF-8 (byte 0xFF at byte 8 of the line)",
    ),
    Case(
        "bad-byte-in-header",
        b"referte,insz,na\xefm,voornaam,geboortedatum\n" + GOOD_PUPIL.encode(),
        exit=2,
        message="line 1 is not valid UTF-8",
    ),
    Case(
        "bad-byte-after-a-very-long-line",
        pupils(f"R2,,{'y' * 100_000},Bo,2012-01-01\n", "R3,,x,Bo,2012-01-01\n") + b"R4,\xc3\n",
        exit=2,
        message="line 5 is not valid UTF-8",
    ),
    Case(
        "semicolons",
        pupils(header=PUPIL_HEADER.replace(",", ";")).replace(b",", b";"),
        exit=2,
        message="separated by ';' instead of ','",
    ),
    Case(
        "10-MB-field",
        pupils(f'R2,,"{"z" * 10_000_000}",Bo,2012-01-01\n'),
        exit=2,
        message="line 3: a field is longer than 131072 characters",
    ),
    Case(
        "unclosed-quote",
        pupils('R2,,"Claes,Bo,2012-01-01\n' + filler(2000)),
        rejects=(
            ("leerlingen.csv", 3, "geboortedatum", "geen geldige datum"),
            ("leerlingen.csv", 3, "naam", "langer dan 200"),
            ("leerlingen.csv", 3, "voornaam", "leeg"),
        ),
    ),
    Case(
        "NUL-in-naam",
        pupils("R2,,Cla\x00es,Bo,2012-01-01\n"),
        rejects=(("leerlingen.csv", 3, "naam", HIDDEN),),
    ),
    Case(
        "RTL-override-in-voornaam",
        pupils("R2,,Claes,\u202eoB,2012-01-01\n"),
        rejects=(("leerlingen.csv", 3, "voornaam", HIDDEN),),
    ),
    Case(
        "escape-and-bell-in-naam",
        pupils("R2,,Cla\x1b[31mes\x07,Bo,2012-01-01\n"),
        rejects=(("leerlingen.csv", 3, "naam", HIDDEN),),
    ),
    Case(
        "line-break-inside-a-name",
        pupils('R2,,"Cla\nes",Bo,2012-01-01\n'),
        rejects=(("leerlingen.csv", 3, "naam", HIDDEN),),
    ),
    Case(
        "NUL-in-referte",
        pupils("R\x002,,Claes,Bo,2012-01-01\n"),
        rejects=(("leerlingen.csv", 3, "referte", HIDDEN),),
    ),
    Case(
        "NUL-in-enrolment",
        pupils(),
        (ENROLMENT_HEADER + GOOD_ENROLMENT + "R1,0123\x0045,000001,2025-09-01,\n").encode(),
        rejects=(
            ("inschrijvingen.csv", 3, "instellingsnummer", "6 cijfers"),
            ("inschrijvingen.csv", 2, "referte", "regel 3 met dezelfde referte"),
        ),
    ),
    Case(
        "invalid-instellingsnummer",
        pupils(),
        (ENROLMENT_HEADER + "R1,12345,000001,2025-09-01,\n").encode(),
        rejects=(("inschrijvingen.csv", 2, "instellingsnummer", "6 cijfers"),),
    ),
    Case(
        "formula-in-referte",
        pupils('"=HYPERLINK(""http://x"")",,Claes,Bo,2012-01-01\n'),
        (ENROLMENT_HEADER + '"=HYPERLINK(""http://x"")",1,000001,2025-09-01,\n').encode(),
        rejects=(("inschrijvingen.csv", 2, "instellingsnummer", "6 cijfers"),),
    ),
    Case(
        "no-break-space-and-accents-are-names",
        pupils().replace(b"Peeters,An", "Van\u00a0den Broeck,Zoë".encode()),
        stored={"naam": "Van\u00a0den Broeck", "voornaam": "Zoë"},
    ),
    Case(
        "a-file-instead-of-the-folder",
        pupils(),
        exit=2,
        message="this is a file; give the folder",
        target=lambda folder: folder / "leerlingen.csv",
    ),
]


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``leerid ARGS`` through the real entry point: (exit status, stdout + stderr)."""
    argv = sys.argv
    sys.argv = ["leerid", *args]
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.argv = argv
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(
    case: Case,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("LEERID_DATABASE_URL", database_url)
    monkeypatch.setenv("LEERID_HOME", str(tmp_path / "home"))
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "leerlingen.csv").write_bytes(case.leerlingen)
    (folder / "inschrijvingen.csv").write_bytes(case.inschrijvingen)
    code, output = run_cli(["registry", "import", str(case.target(folder))], capsys)
    assert "Traceback" not in output
    assert code == case.exit, output
    assert case.message in output
    rejects_file = folder / "rejects.csv"
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            count = conn.execute(text("SELECT COUNT(*) FROM registration")).scalar_one()
            stored = conn.execute(
                text("SELECT naam, voornaam FROM registration WHERE referte = 'R1'")
            ).one_or_none()
    finally:
        engine.dispose()
    if case.exit:
        assert count == 0, "a refused file stores nothing"
        assert not rejects_file.exists()
        return
    with rejects_file.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    got = sorted((r["bestand"], int(r["regel"]), r["kolom"], r["reden"]) for r in rows)
    want = sorted(case.rejects)
    assert len(got) == len(want), got
    for (file, line, column, reason), (wf, wl, wc, wr) in zip(got, want, strict=True):
        assert (file, line, column) == (wf, wl, wc)
        assert wr in reason
    assert all(r["referte"].isprintable() for r in rows)
    assert not any(r["referte"].startswith(FORMULA_START) for r in rows)
    assert stored is not None, "the valid row is stored"
    for column, value in case.stored.items():
        assert getattr(stored, column) == value


def test_stale_rejects_temporaries_of_dead_imports_are_removed(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A killed import leaves .rejects.csv.PID.tmp; the next run removes those of dead
    processes and leaves those of running ones alone."""
    monkeypatch.setenv("LEERID_DATABASE_URL", database_url)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "leerlingen.csv").write_bytes(pupils())
    (folder / "inschrijvingen.csv").write_bytes((ENROLMENT_HEADER + GOOD_ENROLMENT).encode())
    dead_pid = 2**22 + 12345  # above Linux's pid_max default
    dead = folder / f".rejects.csv.{dead_pid}.tmp"
    alive = folder / f".rejects.csv.{os.getppid()}.tmp"
    other = folder / ".other.csv.1.tmp"
    for path in (dead, alive, other):
        path.write_text("bestand\n")
    code, output = run_cli(["registry", "import", str(folder)], capsys)
    assert code == 0, output
    assert not dead.exists()
    assert alive.exists() and other.exists()
    assert sorted(p.name for p in folder.glob(".rejects.csv.*")) == [alive.name]
