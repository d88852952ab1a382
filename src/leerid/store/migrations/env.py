"""Alembic environment: runs migrations on the engine handed over by leerid.store."""

from __future__ import annotations

from alembic import context

from leerid.store.base import Base, load_all_models

load_all_models()
engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    context.run_migrations()
