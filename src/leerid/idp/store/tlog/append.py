"""Issue 12 §1: every disclosure and protocol event appended to the log, fail closed.

An entry is appended on the caller's connection, in the statement or transaction that
writes what it records: the row in ``idp_tlog_entry`` (its canonical bytes and RFC 9162
§2.1.1 leaf hash; ``seq`` from the database, ``idx`` left empty for the integrator) exists
exactly when the disclosure, protocol version, signature, ending or SET does.

Fail closed: a database error while writing an entry (or an entry that cannot be encoded)
becomes ``LogAppendError``, is counted in ``leerid_tlog_append_failures_total`` and
releases nothing: the caller's transaction rolls back and the endpoint answers 503
``temporarily_unavailable``. A database that is gone is counted too and left to the
``DatabaseOutage`` middleware, which answers the same 503 with ``Retry-After``.

The pupil of an entry is a keyed pseudonym of the entry's own id and the pupil's identifier
(``pupil_pseudonym``: it differs from entry to entry) with the server secret ``tlog-pupil``,
shared by every node and loaded once per process and database.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, insert
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from leerid.errors import StorageError
from leerid.idp import metrics
from leerid.idp.store._fast_path import HotStatement
from leerid.idp.store.server_secret import load_server_secret
from leerid.idp.store.tlog.tables import TlogEntry
from leerid.store.outage import outage_class
from leerid.transparency.entries import EntryError, LogEntry
from leerid.transparency.receipt import b64url
from leerid.transparency.rfc9162 import leaf_hash

__all__ = [
    "PUPIL_SECRET",
    "LogAppendError",
    "append_entries",
    "append_entry",
    "append_recorded",
    "append_row",
    "entry_row",
    "fail_closed",
    "leaf_text",
    "pupil_identifier",
    "pupil_secret",
]

PUPIL_SECRET = "tlog-pupil"  # noqa: S105 (the secret's name, not a secret)
"""The name of the server secret the pupils' pseudonyms are keyed with."""

log = logging.getLogger("leerid.idp.tlog")

_INSERT = HotStatement(insert(TlogEntry))
_SECRETS: dict[URL, bytes] = {}
_SECRETS_LOCK = threading.Lock()


class LogAppendError(StorageError):
    """Issue 12 §1: an entry could not be appended, so nothing was written or released."""


def pupil_secret(engine: Engine) -> bytes:
    """The pseudonym secret of ``engine``'s database, read (or created) once per process.

    Call it before opening a transaction: the first node that needs the secret creates it
    on a connection of its own (``load_server_secret``)."""
    secret = _SECRETS.get(engine.url)
    if secret is None:
        secret = load_server_secret(engine, PUPIL_SECRET)
        with _SECRETS_LOCK:
            _SECRETS[engine.url] = secret
    return secret


def pupil_identifier(account_uuid: str | None, leer_id_uuid: str | None) -> str | None:
    """Issue 12 §1: whom a disclosure's entry names (as its pseudonym): the Account_uuid
    when there is one, else the Leer_id_uuid, else None (no account known yet)."""
    return account_uuid or leer_id_uuid


def leaf_text(leaf: bytes) -> str:
    """A leaf hash as leerid writes it outside a note: base64url without padding."""
    return b64url(leaf)


def entry_row(entry: LogEntry) -> dict[str, Any]:
    """The column values of ``entry``'s row: its canonical bytes and their leaf hash
    (RFC 9162 §2.1.1). ``EntryError`` when the entry is not in the documented form."""
    body = entry.encode()
    return {"leaf_hash": leaf_hash(body), "body": body}


def append_entry(conn: Connection, entry: LogEntry) -> bytes:
    """Append ``entry`` on ``conn`` (one INSERT, in the caller's transaction); its leaf hash."""
    row = entry_row(entry)
    append_row(conn, row)
    return bytes(row["leaf_hash"])


def append_row(conn: Connection, row: dict[str, Any]) -> None:
    """Append an entry already made into its row (``entry_row``) on ``conn``."""
    _INSERT(conn, row)


def append_recorded(session: Session, what: str, entry: LogEntry) -> bytes:
    """Issue 12 §1: append the entry of ``what`` (a protocol version, signature, ending) in
    the session's transaction, fail closed; its leaf hash."""
    with fail_closed(what):
        return append_entry(session.connection(), entry)


def append_entries(conn: Connection, entries: Iterable[LogEntry]) -> list[bytes]:
    """Append several entries on ``conn`` (one executemany); their leaf hashes, in order."""
    rows = [entry_row(entry) for entry in entries]
    if rows:
        conn.execute(insert(TlogEntry), rows)
    return [bytes(row["leaf_hash"]) for row in rows]


@contextmanager
def fail_closed(what: str) -> Iterator[None]:
    """Issue 12 §1: a failure to write ``what`` with its log entry is counted and raised as
    ``LogAppendError`` (an outage as it came, for the ``DatabaseOutage`` middleware).

    Wrap the statement that writes the entry (on PostgreSQL's fast path the one statement
    that writes everything): raised inside a transaction, the error rolls it back on its
    way out, so nothing of it is written."""
    try:
        yield
    except (EntryError, DBAPIError, psycopg.Error, sqlite3.Error) as exc:
        metrics.TLOG_APPEND_FAILURES.inc()
        if outage_class(exc) is not None:
            raise
        log.warning("%s not written: its log entry was refused (%s)", what, _first_line(exc))
        raise LogAppendError(
            f"{what} was not written: the transparency log refused its entry "
            f"({_first_line(exc)}); nothing was released. Check the database (triggers, "
            "permissions, space on idp_tlog_entry) and try again"
        ) from None


def _first_line(exc: BaseException) -> str:
    """The error's first line: the driver's reason, never the statement or its values."""
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = str(orig).strip()
    return (text.splitlines()[0] if text else type(orig).__name__)[:200]
