"""Issue 10 point 8: indexes for the retention purge of the disclosure log and activation codes.

Revision ID: 0010_idp_retention
Revises: 0008_idp_protocol_endings, 0003_idp (the disclosure log's table)
"""

from __future__ import annotations

from alembic import op

revision = "0010_idp_retention"
down_revision = ("0008_idp_protocol_endings", "0003_idp")
branch_labels = None
depends_on = "0004_idp_login"  # the activation codes' table


def upgrade() -> None:
    op.create_index("ix_idp_disclosure_outcome_at", "idp_disclosure", ["outcome", "at"])
    op.create_index("ix_activation_code_expires_at", "activation_code", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_activation_code_expires_at", table_name="activation_code")
    op.drop_index("ix_idp_disclosure_outcome_at", table_name="idp_disclosure")
