"""Alembic environment of the service provider's own database."""

from __future__ import annotations

from alembic import context

from leerid.sp.kit.models import SPBase

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=SPBase.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
