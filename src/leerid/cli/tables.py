"""Tables on standard output: fitted to a terminal, never cut in a pipe or a file."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

_UNCUT_WIDTH = 100_000  # wide enough for any row; a table does not expand to fill it


def print_table(out: Console, table: Table) -> None:
    """``table`` on ``out``; when ``out`` is not a terminal, every cell is printed whole
    (an identifier cut to ``…`` in ``leerid … list | grep`` cannot be pasted back)."""
    if out.is_terminal:
        out.print(table)
        return
    Console(file=out.file, highlight=False, no_color=True, width=_UNCUT_WIDTH).print(table)
