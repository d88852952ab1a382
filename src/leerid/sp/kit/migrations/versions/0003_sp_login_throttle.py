"""Issue 8 §5, §10: the staff login throttle in the database, shared by every portal process.

Revision ID: 0003_sp_login_throttle
Revises: 0002_sp_append_only
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_sp_login_throttle"
down_revision = "0002_sp_append_only"
branch_labels = None
depends_on = None

MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sp_login_throttle",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", MOMENT, nullable=False),
        sa.Column("locked_until", MOMENT, nullable=True),
        sa.Column("pending", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("pending_at", MOMENT, nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_sp_login_throttle")),
    )
    op.create_index(
        op.f("ix_sp_login_throttle_last_failure_at"), "sp_login_throttle", ["last_failure_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_sp_login_throttle_last_failure_at"), "sp_login_throttle")
    op.drop_table("sp_login_throttle")
