"""Issue 10: the Department's change feed, what a recipient must hear of (dov_change).

Revision ID: 0009_dov_changes
Revises: 0001_registry
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_dov_changes"
down_revision = "0001_registry"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dov_change",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column("protocol_id", sa.String(length=100), nullable=True),
        sa.Column("leer_id_uuid", sa.String(length=36), nullable=True),
        sa.Column("account_uuids", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dov_change")),
    )
    op.create_index("ix_dov_change_at", "dov_change", ["at"])


def downgrade() -> None:
    op.drop_index("ix_dov_change_at", table_name="dov_change")
    op.drop_table("dov_change")
