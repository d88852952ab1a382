"""What a test's server sends to PostgreSQL, counted on the wire by libpq's own trace."""

from __future__ import annotations

import re
import tempfile
from types import TracebackType
from typing import Any

from psycopg import pq
from sqlalchemy import Engine, event

__all__ = ["WireTrace"]


class WireTrace:
    """libpq's trace of every database connection that engines open inside the block (the
    test's in-process server's), once ``start`` is called: message by message, as sent."""

    def __init__(self) -> None:
        self._connections: list[Any] = []
        self._file = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed by __exit__)
        self._started = False

    def __enter__(self) -> WireTrace:
        event.listen(Engine, "connect", self._opened)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        event.remove(Engine, "connect", self._opened)
        self._file.close()

    def _opened(self, dbapi_connection: Any, _record: Any) -> None:
        self._connections.append(dbapi_connection)
        if self._started:
            self._trace(dbapi_connection)

    def _trace(self, conn: Any) -> None:
        conn.pgconn.trace(self._file.fileno())
        conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS)

    def start(self) -> None:
        """Trace every open connection, and those opened from now on."""
        self._started = True
        for conn in self._connections:
            if not conn.closed:
                self._trace(conn)

    def round_trips(self) -> int:
        """The requests sent since ``start``: each extended-protocol ``Sync`` and each simple
        ``Query`` waits for PostgreSQL's answer."""
        self._started = False
        for conn in self._connections:
            if not conn.closed:
                conn.pgconn.untrace()
        self._file.seek(0)
        return len(re.findall(r"^F\t\d+\t(?:Sync|Query)\b", self._file.read(), re.MULTILINE))
