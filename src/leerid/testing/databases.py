"""A database of one's own on a shared PostgreSQL server: a schema, reached by ``search_path``."""

from __future__ import annotations

from urllib.parse import quote

from sqlalchemy import create_engine, text

__all__ = ["drop_schema", "fresh_schema", "schema_url"]


def schema_url(database_url: str, schema: str) -> str:
    """``database_url`` with ``search_path`` set to ``schema`` (PostgreSQL)."""
    sep = "&" if "?" in database_url else "?"
    return f"{database_url}{sep}options={quote(f'-csearch_path={schema}')}"


def drop_schema(database_url: str, schema: str) -> None:
    """Drop ``schema`` and everything in it, if it exists."""
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def fresh_schema(database_url: str, schema: str) -> str:
    """Drop and create ``schema``; the URL that works in it."""
    drop_schema(database_url, schema)
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return schema_url(database_url, schema)
