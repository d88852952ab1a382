"""Issue 13: every import leaves one ``ImportRun`` row, also when it fails.

When it started and ended, the files' names (never their folders), the summary's counts,
the error of a failed import, and the rejects file gzipped when that is at most
``MAX_REJECTS_BYTES`` (larger: the file on disk is the only copy). The row is written in a
transaction of its own after the import's: a database that fails here leaves a warning on
the log, never an import undone.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import logging
import shutil
from pathlib import Path

from sqlalchemy import Engine

from leerid.registry.discimus import ENROLMENT_FILE, PUPIL_FILE
from leerid.registry.importing.report import ImportSummary
from leerid.registry.models import MAX_REJECTS_BYTES, ImportRun
from leerid.store.engine import session_scope

__all__ = ["gzipped_rejects", "record_run"]

log = logging.getLogger("leerid.registry.import")
FILES = f"{PUPIL_FILE}, {ENROLMENT_FILE}"


def gzipped_rejects(path: Path, limit: int = MAX_REJECTS_BYTES) -> bytes | None:
    """The rejects file gzipped, or None when it is missing or its gzip exceeds ``limit``."""
    buffer = io.BytesIO()
    try:
        with path.open("rb") as source, gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as out:
            shutil.copyfileobj(source, out)
    except OSError:
        return None
    data = buffer.getvalue()
    return data if len(data) <= limit else None


def record_run(
    engine: Engine,
    started_at: dt.datetime,
    summary: ImportSummary | None,
    error: str | None = None,
) -> None:
    """One ``ImportRun`` row: ``summary`` for an import that was stored, ``error`` for one
    that failed (nothing stored)."""
    row = ImportRun(
        started_at=started_at,
        finished_at=dt.datetime.now(dt.UTC),
        files=FILES,
        outcome="failed" if summary is None else "imported",
        error=None if error is None else error[:4000],
    )
    if summary is not None:
        for name in (
            "registrations_created",
            "registrations_updated",
            "registrations_unchanged",
            "pupils_identified",
            "accounts_created",
            "accounts_retired",
            "enrolments_written",
            "rejects",
        ):
            setattr(row, name, getattr(summary, name))
        row.rejects_gzip = gzipped_rejects(summary.rejects_path) if summary.rejects else None
    try:
        with session_scope(engine) as session:
            session.add(row)
    except Exception as exc:  # the import itself is done (or failed) already
        log.warning("registry import: the run was not recorded (%s)", type(exc).__name__)
