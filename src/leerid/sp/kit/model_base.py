"""The base of the service provider's tables: its own metadata and naming convention.

Apart from ``models`` so that a room's own tables (``log_tables``) can declare themselves on
the same metadata without an import cycle; ``models`` imports them, so that whoever imports
``models`` sees every table.
"""

from __future__ import annotations

from sqlalchemy import DateTime, MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class SPBase(DeclarativeBase):
    """Base of the service provider's tables (its own metadata, its own database)."""

    metadata = MetaData(naming_convention=NAMING)


Moment = DateTime(timezone=True)
