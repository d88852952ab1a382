"""Art. 8 and 11: the end of a protocol (termination by DOV, end by law), one row per protocol.

Revision ID: 0008_idp_protocol_endings
Revises: 0007_idp_report_codes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_idp_protocol_endings"
down_revision = "0007_idp_report_codes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "protocol_ending",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("protocol_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("ground", sa.String(length=20), nullable=False),
        sa.Column("by_party", sa.String(length=20), nullable=True),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("operator", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protocol_ending")),
        sa.UniqueConstraint("protocol_id", name=op.f("uq_protocol_ending_protocol_id")),
    )


def downgrade() -> None:
    op.drop_table("protocol_ending")
