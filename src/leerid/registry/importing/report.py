"""What an import reports: its summary, its progress callback and its rejects file."""

from __future__ import annotations

import glob
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from leerid.csv_safe import SafeWriter
from leerid.registry.discimus import ImportFileError, Problem, visible

__all__ = ["REJECTS_HEADER", "ImportSummary", "Progress", "RejectsFile"]

Progress = Callable[[str, int, int], None]
"""Called as ``progress(step, done, total)`` while an import runs."""

REJECTS_HEADER = ("bestand", "regel", "kolom", "referte", "reden")


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


class RejectsFile:
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
