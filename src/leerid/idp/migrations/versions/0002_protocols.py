"""Protocols: every version of every protocol file, with its content hash.

Revision ID: 0002_protocols
Revises: 0001_registry
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_protocols"
down_revision = "0001_registry"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "protocol_version",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("protocol_id", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("canonical_json", sa.Text(), nullable=False),
        sa.Column("source_text", sa.Text(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protocol_version")),
        sa.UniqueConstraint(
            "protocol_id", "version", name="uq_protocol_version_protocol_id_version"
        ),
        sa.UniqueConstraint(
            "protocol_id", "content_hash", name="uq_protocol_version_protocol_id_content_hash"
        ),
    )
    with op.batch_alter_table("protocol_version", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_protocol_version_protocol_id"), ["protocol_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_protocol_version_content_hash"), ["content_hash"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("protocol_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_protocol_version_content_hash"))
        batch_op.drop_index(batch_op.f("ix_protocol_version_protocol_id"))
    op.drop_table("protocol_version")
