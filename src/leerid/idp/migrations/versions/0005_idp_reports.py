"""Art. 7: data-quality reports received from service providers.

Revision ID: 0005_idp_reports
Revises: 0001_registry
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_idp_reports"
down_revision = "0001_registry"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idp_quality_report",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("pupil_key", sa.String(36), nullable=False),
        sa.Column("attribute", sa.String(40), nullable=False),
        sa.Column("problem", sa.String(20), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(80), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idp_quality_report")),
    )
    op.create_index(op.f("ix_idp_quality_report_client_id"), "idp_quality_report", ["client_id"])
    op.create_index(op.f("ix_idp_quality_report_pupil_key"), "idp_quality_report", ["pupil_key"])


def downgrade() -> None:
    op.drop_table("idp_quality_report")
