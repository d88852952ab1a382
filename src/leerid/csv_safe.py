"""CSV files a spreadsheet program opens safely: the one writer for every CSV leerid writes.

OWASP "CSV injection": a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
return may be run as a formula (``=HYPERLINK(...)``) when the file is opened in a spreadsheet
program. Such a text cell is written with an apostrophe in front, which spreadsheet programs
show as text. Numbers and dates we produce ourselves are not text cells and stay as they are.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, Protocol

__all__ = ["FORMULA_START", "SafeWriter", "safe_cell"]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


def safe_cell(value: object) -> object:
    """``value``, with an apostrophe in front when it is text a spreadsheet could run."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


class SafeWriter:
    """``csv.writer`` whose every text cell goes through :func:`safe_cell`."""

    def __init__(self, file: _Writable, **fmt: Any) -> None:
        self._writer = csv.writer(file, **fmt)

    def writerow(self, row: Iterable[object]) -> None:
        """Write one row."""
        self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        """Write many rows."""
        for row in rows:
            self.writerow(row)
