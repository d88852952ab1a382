"""Art. 7 from DOV to us, art. 9 notices we send, art. 6 requests for our processor list.

Revision ID: 0005_sp_dov_reports
Revises: 0003_sp_login_throttle
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_sp_dov_reports"
down_revision = "0003_sp_login_throttle"
branch_labels = None
depends_on = None

MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sp_dov_report",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(12), nullable=False),
        sa.Column("pupil_key", sa.String(36), nullable=False),
        sa.Column("attribute", sa.String(40), nullable=False),
        sa.Column("problem", sa.String(20), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("reported_at", MOMENT, nullable=False),
        sa.Column("received_at", MOMENT, nullable=False),
        sa.Column("answer_status", sa.String(20), nullable=True),
        sa.Column("answer_text", sa.Text(), nullable=True),
        sa.Column("answered_at", MOMENT, nullable=True),
        sa.Column("answered_by", sa.String(80), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sp_dov_report")),
        sa.UniqueConstraint("code", name=op.f("uq_sp_dov_report_code")),
    )
    op.create_index(op.f("ix_sp_dov_report_pupil_key"), "sp_dov_report", ["pupil_key"])
    op.create_table(
        "sp_notice",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("processors", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("remote_id", sa.String(36), nullable=True),
        sa.Column("sent_at", MOMENT, nullable=True),
        sa.Column("mailed_at", MOMENT, nullable=True),
        sa.Column("acknowledged_at", MOMENT, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sp_notice")),
        sa.UniqueConstraint("remote_id", name=op.f("uq_sp_notice_remote_id")),
    )
    op.create_table(
        "sp_processor_request",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("txn", sa.String(40), nullable=True),
        sa.Column("requested_at", MOMENT, nullable=False),
        sa.Column("received_at", MOMENT, nullable=False),
        sa.Column("answered_by", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sp_processor_request")),
        sa.UniqueConstraint("txn", name=op.f("uq_sp_processor_request_txn")),
    )


def downgrade() -> None:
    op.drop_table("sp_processor_request")
    op.drop_table("sp_notice")
    op.drop_table("sp_dov_report")
