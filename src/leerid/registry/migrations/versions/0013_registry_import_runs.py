"""Issue 13: each DISCIMUS import recorded for DOV's console (counts, rejects, duration).

Revision ID: 0013_registry_import_runs
Revises: 0010_registry_retention
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_registry_import_runs"
down_revision = "0010_registry_retention"
branch_labels = None
depends_on = None

MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "registry_import_run",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("started_at", MOMENT, nullable=False),
        sa.Column("finished_at", MOMENT, nullable=False),
        sa.Column("files", sa.String(1000), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        *(
            sa.Column(name, sa.Integer(), nullable=False)
            for name in (
                "registrations_created",
                "registrations_updated",
                "registrations_unchanged",
                "pupils_identified",
                "accounts_created",
                "accounts_retired",
                "enrolments_written",
                "rejects",
            )
        ),
        sa.Column("rejects_gzip", sa.LargeBinary(), nullable=True),
    )
    op.create_index("ix_registry_import_run_started_at", "registry_import_run", ["started_at"])


def downgrade() -> None:
    op.drop_table("registry_import_run")
