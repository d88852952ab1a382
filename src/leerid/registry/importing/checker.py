"""The row checks of a DISCIMUS file, in a second process for a large file.

Reading a CSV file and checking its rows (``discimus.check_pupil``, ``check_enrolment``)
needs nothing from the registry and is about a fifth of an import's CPU. For a file of at least
``SECOND_PROCESS_FROM`` bytes a child process (``python -m
leerid.registry.importing.checker``) reads and checks it, and sends the outcome through a
pipe in file order, in batches; meanwhile this process applies the identity rules and writes
on the other core. A smaller file is checked in this process: starting a process would cost
more than it saves. Either way ``checked_pupils`` and ``checked_enrolments`` give the same
``Checked`` tuples, row for row (``tests/registry/test_checker.py``), and a file error (not
UTF-8, not CSV) is raised here as the same ``ImportFileError`` after the same rows.

The child is our own code on our own file: its batches are pickled. A thread of this process
moves them from the pipe into a bounded queue (about ``AHEAD`` batches ahead, plus what the
pipe holds, so memory stays bounded however slow the writes are); unpickling happens in the
consumer. The child runs in its own process group (a Ctrl-C in the terminal reaches the
import, which stops the child) and with ``-P`` (no module of the current folder can shadow
one of ours); a killed import takes it with it (its next write finds no reader).

Written by hand: ``multiprocessing`` either forks a process whose writer and pool threads are
already running (unsafe) or re-imports the caller's ``__main__`` (the CLI, pytest) in the
child, and hands batches over one pipe without read-ahead; ``concurrent.futures`` does not
stream.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import os
import pickle
import queue
import signal
import struct
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import fields
from operator import attrgetter
from pathlib import Path
from typing import Any, BinaryIO, Generic, Literal, TypeVar

import leerid
from leerid.errors import LeeridError
from leerid.registry.discimus import (
    ENROLMENT_COLUMNS,
    PUPIL_COLUMNS,
    CsvTable,
    EnrolmentRow,
    ImportFileError,
    Problem,
    PupilRow,
    check_enrolment,
    check_pupil,
)

__all__ = [
    "AHEAD",
    "BATCH",
    "SECOND_PROCESS_FROM",
    "Checked",
    "CheckedRows",
    "CheckerError",
    "checked_enrolments",
    "checked_pupils",
]

Kind = Literal["pupils", "enrolments"]
_KINDS: dict[str, Kind] = {"pupils": "pupils", "enrolments": "enrolments"}
Row = TypeVar("Row", PupilRow, EnrolmentRow)
Checked = tuple[int, str, Row | None, list[Problem]]
"""``(line, referte, the valid row or None, the problems that reject it)``; the referte is
the stripped first column as written (it may be empty or too long on a rejected row)."""
Check = Callable[[int, list[str]], tuple[Row | None, list[Problem]]]

SECOND_PROCESS_FROM = 4 << 20
"""Bytes from which a file is checked by a second process (about 80,000 pupil rows)."""
BATCH = 5000
"""Rows per message from the child."""
AHEAD = 16
"""Batches the child may be ahead of the consumer."""

_FRAME = struct.Struct("<I")
_ROWS, _END, _FILE_ERROR, _FAILED = 0, 1, 2, 3
_FIELDS = {
    "pupils": attrgetter(*(f.name for f in fields(PupilRow))),
    "enrolments": attrgetter(*(f.name for f in fields(EnrolmentRow))),
}


class CheckerError(LeeridError):
    """The child that checks a file stopped without an answer (a bug, or it was killed)."""


def _check(table: CsvTable, check: Check[Row]) -> Iterator[Checked[Row]]:
    """The checks themselves, in this process."""
    for line, values in table.rows():
        row, problems = check(line, values)
        yield line, values[0].strip(), row, problems


def _pupil_check(today: dt.date) -> Check[PupilRow]:
    """``check_pupil`` as of ``today`` (a birth date after it is refused)."""

    def check(line: int, values: list[str]) -> tuple[PupilRow | None, list[Problem]]:
        return check_pupil(line, values, today)

    return check


def checked_pupils(table: CsvTable, today: dt.date) -> CheckedRows[PupilRow]:
    """The checked rows of ``leerlingen.csv`` (a birth date after ``today`` is refused)."""
    return CheckedRows(table, "pupils", today, _pupil_check(today), PupilRow)


def checked_enrolments(table: CsvTable) -> CheckedRows[EnrolmentRow]:
    """The checked rows of ``inschrijvingen.csv``."""
    return CheckedRows(table, "enrolments", dt.date.today(), check_enrolment, EnrolmentRow)


def _child_check(kind: Kind, today: dt.date) -> Check[Any]:
    return _pupil_check(today) if kind == "pupils" else check_enrolment


class CheckedRows(Generic[Row]):
    """The checked rows of ``table`` (opened by the caller, header checked), in file order;
    made by ``checked_pupils`` or ``checked_enrolments``.

    ``bytes_read`` tells how far the checks have come, for a progress bar. Use it as a
    context manager: leaving it early stops the child.
    """

    def __init__(
        self, table: CsvTable, kind: Kind, today: dt.date, check: Check[Row], make: type[Row]
    ) -> None:
        self.table = table
        self.kind = kind
        self.today = today
        self.check: Check[Row] = check
        self.make: type[Row] = make
        self.second_process = table.size >= SECOND_PROCESS_FROM
        self._read = 0
        self._child: subprocess.Popen[bytes] | None = None
        self._frames: queue.Queue[bytes | None] = queue.Queue(AHEAD)
        self._stop = threading.Event()
        self._pump: threading.Thread | None = None

    @property
    def bytes_read(self) -> int:
        return self._read if self.second_process else self.table.bytes_read

    def __iter__(self) -> Iterator[Checked[Row]]:
        if not self.second_process:
            yield from _check(self.table, self.check)
            return
        self._start()
        try:
            yield from self._received()
        finally:
            self.close()  # also when the consumer stops early or fails

    def _received(self) -> Iterator[Checked[Row]]:
        make = self.make
        while True:
            frame = self._frames.get()
            if frame is None:
                raise self._lost()
            tag, payload, self._read = pickle.loads(frame)  # noqa: S301 - our own child
            if tag == _END:
                return
            if tag == _FILE_ERROR:
                raise ImportFileError(payload)
            if tag == _FAILED:
                raise CheckerError(payload)
            for line, referte, values, problems in payload:
                yield line, referte, None if values is None else make(*values), problems

    def _start(self) -> None:
        env = dict(os.environ)
        root = Path(leerid.__file__).resolve().parent.parent
        if root.name not in ("site-packages", "dist-packages"):  # leerid from a source tree
            env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
        # The child reads the file this table opened, not what its path names by then (a new
        # export moved over it during the import would otherwise be checked in its place).
        descriptor = self.table.fileno()
        argv: list[str] = [sys.executable, "-P", "-m", __name__, str(self.table.path), self.kind]
        try:
            self._child = subprocess.Popen(  # noqa: S603 - this interpreter, this module
                [*argv, self.today.isoformat(), str(descriptor)],
                stdout=subprocess.PIPE,
                env=env,
                pass_fds=(descriptor,),
                process_group=0,  # not in the terminal's group: Ctrl-C is the import's to handle
            )
        except OSError as exc:
            raise CheckerError(
                f"{self.table.path}: cannot start the process that checks this file "
                f"({exc.strerror}); nothing was imported. Free some memory or file handles and "
                "run the import again."
            ) from None
        assert self._child.stdout is not None
        self._pump = threading.Thread(
            target=self._move,
            args=(self._child.stdout,),
            name="leerid-import-checker",
            daemon=True,  # never keeps the interpreter from exiting
        )
        self._pump.start()

    def _move(self, pipe: BinaryIO) -> None:
        """Frames from the pipe to the queue; None at the end of the pipe."""
        try:
            while not self._stop.is_set():
                head = pipe.read(_FRAME.size)
                if len(head) < _FRAME.size:
                    break
                size = _FRAME.unpack(head)[0]
                frame = pipe.read(size)
                if len(frame) < size:
                    break  # the child died in the middle of a frame: it is lost, not cut
                self._put(frame)
        finally:
            try:
                pipe.close()
            finally:
                self._put(None)

    def _put(self, frame: bytes | None) -> None:
        """Wait for room in the queue, unless the consumer is leaving (``close``)."""
        while not self._stop.is_set():
            try:
                self._frames.put(frame, timeout=0.2)
                return
            except queue.Full:
                continue

    def _lost(self) -> CheckerError:
        status = self._child.wait() if self._child is not None else 0
        if status >= 0:
            how = f"stopped with exit status {status}"
        elif -status == signal.SIGKILL:
            how = "was killed (SIGKILL, which often means the system ran out of memory)"
        else:
            how = f"was stopped by signal {signal.Signals(-status).name}"
        return CheckerError(
            f"{self.table.path}: the process that checks this file {how} before the end of the "
            "file; nothing was imported. Run the import again; if it stops again, report it "
            "with the messages above."
        )

    def close(self) -> None:
        """Stop the child (if it still runs) and the thread."""
        self._stop.set()
        if self._child is not None and self._child.poll() is None:
            self._child.kill()
        while self._pump is not None and self._pump.is_alive():
            with contextlib.suppress(queue.Empty):  # a put waiting for room returns
                self._frames.get(timeout=0.05)
        if self._child is not None:
            self._child.wait()

    def __enter__(self) -> CheckedRows[Row]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _send(out: BinaryIO, message: tuple[int, Any, int]) -> None:
    blob = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
    out.write(_FRAME.pack(len(blob)))
    out.write(blob)


def _serve(path: Path, descriptor: int, kind: Kind, today: dt.date, out: BinaryIO) -> None:
    """The child: check the file open on ``descriptor`` (``path`` names it in messages) and
    send its rows; a file error follows the rows before it."""
    columns = PUPIL_COLUMNS if kind == "pupils" else ENROLMENT_COLUMNS
    values_of = _FIELDS[kind]
    line, done = 1, 0  # the last line checked (1: the header)
    batch: list[tuple[int, str, tuple[Any, ...] | None, list[Problem]]] = []
    try:
        with CsvTable(path, columns, descriptor=descriptor) as table:
            for line, referte, row, problems in _check(table, _child_check(kind, today)):
                batch.append((line, referte, None if row is None else values_of(row), problems))
                if len(batch) >= BATCH:
                    done = table.bytes_read
                    _send(out, (_ROWS, batch, done))
                    batch = []
            _send(out, (_ROWS, batch, table.size))
            _send(out, (_END, None, table.size))
    except ImportFileError as exc:
        _send(out, (_ROWS, batch, done))
        _send(out, (_FILE_ERROR, exc.message, done))
    except Exception as exc:  # a bug: its kind and place, never a value of the file
        where = traceback.extract_tb(exc.__traceback__)[-1]
        reason = (
            f"{path}: checking the file failed after line {line} ({type(exc).__name__} in "
            f"{Path(where.filename).name}:{where.lineno}); nothing was imported. Report this."
        )
        _send(out, (_FAILED, reason, done))
    out.flush()


def main(argv: list[str]) -> None:
    """``python -m leerid.registry.importing.checker FILE pupils|enrolments TODAY FD``: the
    file is the one the import opened and handed over as descriptor ``FD`` (``FILE`` names
    it in messages); the frames go to the standard output as it was at start; anything
    printed goes to the standard error instead, so that it cannot break a frame."""
    if len(argv) != 4 or not argv[3].isdecimal():
        raise SystemExit("checker: give FILE pupils|enrolments TODAY FD")
    path, name, today, handed = argv
    kind = _KINDS.get(name)
    if kind is None:
        raise SystemExit(f"checker: kind {name!r}: give pupils or enrolments")
    # The import's own open file: this process reads it from its start. Their reading
    # position is shared, but the import no longer reads that table once this one checks it.
    descriptor = int(handed)
    # The import runs this in a group of its own; should a Ctrl-C reach it all the same (a
    # process group signalled by hand), the import decides, and stops this process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.disable()  # millions of short-lived rows, no cycles (as in the import itself)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    try:
        with out:
            _serve(Path(path), descriptor, kind, dt.date.fromisoformat(today), out)
    except BrokenPipeError:  # the import is gone (it failed, or it was killed): so are we
        os._exit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
