"""Issue 10 point 8: DOV's retention, the retirement of a pupil without an enrolment (art. 3).

Revision ID: 0010_registry_retention
Revises: 0009_dov_changes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_registry_retention"
down_revision = "0009_dov_changes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pupil") as batch_op:
        batch_op.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_pupil_retired_at",
        "pupil",
        ["retired_at"],
        postgresql_where=sa.text("retired_at IS NOT NULL"),
        sqlite_where=sa.text("retired_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_pupil_retired_at", table_name="pupil")
    with op.batch_alter_table("pupil") as batch_op:
        batch_op.drop_column("retired_at")
