"""Statements over many keys or rows whose SQL does not grow with them (PostgreSQL arrays).

A batch of events touches hundreds of keys. Written as ``IN (:k1, ..., :k500)`` each batch is
a new statement text: SQLAlchemy renders 500 bind parameters and psycopg parses the text
again, every time (a third of the time of applying a batch, measured with bench/events.py).
On PostgreSQL the keys go as one array instead: ``key = ANY(:keys)`` and
``INSERT ... SELECT unnest(:a), unnest(:b), :c`` (PostgreSQL zips the arrays of one select
list row by row; a column with one value for every row goes once, as ``:c``): a few
statement texts per table, each parsed once. Lists go in PostgreSQL's binary format (see
``store.engine``). SQLite has no arrays; there the keys go in chunks of 500 (``IN``) and the
rows by ``executemany``, as before.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, Table, any_, bindparam, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import QueryableAttribute, Session

__all__ = ["CHUNK", "insert_rows", "keys_in"]

CHUNK = 500
"""Keys per ``IN`` list on SQLite (its limit on bind parameters is far above)."""


def _postgresql(where: Session | Connection) -> bool:
    bind = where if isinstance(where, Connection) else where.get_bind()
    return bind.dialect.name == "postgresql"


def keys_in(
    session: Session | Connection,
    column: ColumnElement[Any] | QueryableAttribute[Any],
    keys: Sequence[Any],
) -> Iterator[ColumnElement[bool]]:
    """Conditions ``column`` in ``keys``, together covering every key: one ``= ANY(array)``
    on PostgreSQL, one ``IN`` per chunk of 500 on SQLite; nothing for no keys."""
    if not keys:
        return
    if _postgresql(session):
        yield column == any_(bindparam(None, list(keys), type_=ARRAY(column.type)))
        return
    for start in range(0, len(keys), CHUNK):
        yield column.in_(list(keys[start : start + CHUNK]))


def insert_rows(
    session: Session | Connection, table: Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert ``rows`` (dicts with the same keys, columns of ``table``) in the session's
    transaction: one ``INSERT ... SELECT unnest(...)`` on PostgreSQL, ``executemany`` else."""
    if not rows:
        return
    if not _postgresql(session):
        session.execute(insert(table), list(rows))
        return
    first, names = rows[0], list(rows[0])
    same = {name for name in names if all(row[name] == first[name] for row in rows)}
    if same == set(names):
        same.discard(names[0])  # one array at least: it gives the number of rows
    columns: list[ColumnElement[Any]] = []
    for name in names:
        kind = table.c[name].type
        if name in same:  # one value for every row: sent once, not once per row
            columns.append(bindparam(None, first[name], type_=kind))
        else:
            values = [row[name] for row in rows]
            columns.append(func.unnest(bindparam(None, values, type_=ARRAY(kind))))
    session.execute(insert(table).from_select(names, select(*columns)))
