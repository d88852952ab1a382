"""Helpers of the append tests: a database that refuses log entries, and what the log holds.

The refusal is the database's own: a trigger on ``idp_tlog_entry`` that raises before any
row is inserted (SQLite ``RAISE(ABORT)``, PostgreSQL a plpgsql function), so the code under
test meets a real driver error on a real connection, whichever way it sends its SQL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from sqlalchemy import Engine, select, text

from leerid.idp.store.models import Disclosure
from leerid.idp.store.server_secret import load_server_secret
from leerid.idp.store.tlog.tables import TlogEntry
from leerid.transparency.entries import LogEntry, decode_entry
from leerid.transparency.rfc9162 import leaf_hash

__all__ = ["failures", "log_entries", "orphans", "pupil_key", "refusing_log"]

_PG_REFUSE = """
CREATE FUNCTION refuse_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'log refused';
END $$
"""


@contextmanager
def refusing_log(engine: Engine) -> Iterator[None]:
    """While in the block, every INSERT into ``idp_tlog_entry`` fails in the database."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(_PG_REFUSE))
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_log BEFORE INSERT ON idp_tlog_entry "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_log()"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_log BEFORE INSERT ON idp_tlog_entry "
                    "BEGIN SELECT RAISE(ABORT, 'log refused'); END"
                )
            )
    try:
        yield
    finally:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("DROP TRIGGER refuse_log ON idp_tlog_entry"))
                conn.execute(text("DROP FUNCTION refuse_log()"))
            else:
                conn.execute(text("DROP TRIGGER refuse_log"))


def log_entries(engine: Engine) -> dict[bytes, LogEntry]:
    """Every entry in the log by leaf hash, each checked: canonical, its hash its own."""
    found: dict[bytes, LogEntry] = {}
    with engine.connect() as conn:
        for leaf, body in conn.execute(select(TlogEntry.leaf_hash, TlogEntry.body)):
            assert leaf_hash(bytes(body)) == bytes(leaf)
            found[bytes(leaf)] = decode_entry(bytes(body))
    return found


def orphans(engine: Engine) -> tuple[int, int]:
    """(disclosure records without their entry, records in all): no record may lack one,
    but a refused login, which is kept out of the log, must."""
    entries = log_entries(engine)
    with engine.connect() as conn:
        rows = conn.execute(select(Disclosure.log_leaf, Disclosure.endpoint)).all()
    wrong = [
        (leaf is not None) if endpoint == "login" else (leaf is None or bytes(leaf) not in entries)
        for leaf, endpoint in rows
    ]
    return sum(wrong), len(rows)


def pupil_key(engine: Engine) -> bytes:
    """The provider's pseudonym secret, as every node reads it."""
    return load_server_secret(engine, "tlog-pupil")


def failures(base_url: str) -> float:
    """``leerid_tlog_append_failures_total`` on the provider's ``/metrics``."""
    page = httpx.get(f"{base_url}/metrics", timeout=10).text
    found = re.search(r"^leerid_tlog_append_failures_total ([0-9.e+]+)$", page, re.MULTILINE)
    return float(found.group(1)) if found else 0.0
