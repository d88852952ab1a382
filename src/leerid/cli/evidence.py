"""``leerid evidence``: DOV's evidence of its measures (art. 6), as ``leerid sp evidence``
gives the recipient's: per measure its facts and ``aangetoond`` / ``niet aangetoond``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from leerid.cli.tables import print_table
from leerid.schema import get_engine

out = Console(highlight=False, soft_wrap=True)


def evidence(
    as_json: bool = typer.Option(False, "--json", help="Print the evidence as JSON."),
    full: bool = typer.Option(
        False, "--full", help="Also recompute the whole transparency log (long on a large log)."
    ),
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write the JSON to this file.")
    ] = None,
) -> None:
    """Art. 6: DOV's evidence, measure by measure (exit 1 when one is not shown)."""
    from leerid.idp.settings import IdpSettings
    from leerid.idp.store.console.evidence import collect

    found = collect(get_engine(create=False), IdpSettings.from_env(), full=full)
    document = json.dumps(found.as_json(), ensure_ascii=False, indent=2)
    if out_file is not None:
        out_file.write_text(document + "\n", encoding="utf-8")
        out.print(f"written to {out_file}")
    elif as_json:
        out.print(document, markup=False)
    else:
        table = Table("measure", "verdict", "evidence")
        for m in found.measures:
            facts = "\n".join(f"{k}: {v}" for k, v in m.facts)
            table.add_row(m.id, m.verdict, facts)
        print_table(out, table)
        for name, value in found.duties:
            out.print(f"{name}: {value}")
    if any(m.ok is False for m in found.measures):
        raise typer.Exit(1)
