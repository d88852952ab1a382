"""Settings from the environment: where leerid keeps its data."""

from __future__ import annotations

import os
from pathlib import Path


def leerid_home() -> Path:
    """The folder for the embedded database and keys: ``$LEERID_HOME`` or ``./.leerid``."""
    return Path(os.environ.get("LEERID_HOME", ".leerid")).resolve()


def database_url() -> str:
    """``$LEERID_DATABASE_URL``, or the embedded SQLite file under ``leerid_home()``."""
    url = os.environ.get("LEERID_DATABASE_URL", "").strip()
    if url:
        return url
    return f"sqlite:///{leerid_home() / 'leerid.db'}"


def retention_setting(kind: str) -> str:
    """``$LEERID_RETENTION_<KIND>``: an ISO 8601 duration for one record kind, '' when unset.

    The kinds and their defaults are listed in docs/dov-retention.md.
    """
    return os.environ.get(f"LEERID_RETENTION_{kind.upper()}", "").strip()
