"""Issue 12 §3: the recipient as witness of DOV's transparency log.

Held checkpoints (DOV's note, the consistency proof from the one before, our cosignature),
the disclosures received with their leaf hash and inclusion proof, the alerts with their
evidence, and the witness round's lease (one row).

Revision ID: 0010_sp_tlog
Revises: 0009_sp_pupil_search_name
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_sp_tlog"
down_revision = "0009_sp_pupil_search_name"
branch_labels = None
depends_on = None

MOMENT = sa.DateTime(timezone=True)
HASH = sa.String(44)


def upgrade() -> None:
    op.create_table(
        "sp_tlog_checkpoint",
        sa.Column("size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("origin", sa.String(255), nullable=False),
        sa.Column("root", HASH, nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("fetched_at", MOMENT, nullable=False),
        sa.Column("seen_at", MOMENT, nullable=False),
        sa.Column("from_size", sa.BigInteger(), nullable=True),
        sa.Column("consistency_proof", sa.Text(), nullable=True),
        sa.Column("cosignature", sa.Text(), nullable=True),
        sa.Column("cosigned_at", MOMENT, nullable=True),
        sa.Column("delivered_at", MOMENT, nullable=True),
        sa.Column("delivery_error", sa.String(400), nullable=True),
        sa.PrimaryKeyConstraint("size", name=op.f("pk_sp_tlog_checkpoint")),
    )
    op.create_table(
        "sp_tlog_receipt",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("leaf_hash", HASH, nullable=True),
        sa.Column("received_at", MOMENT, nullable=False),
        sa.Column("client_id", sa.String(255), nullable=False),
        sa.Column("endpoint", sa.String(20), nullable=False),
        sa.Column("claims", sa.String(2000), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=True),
        sa.Column("tree_size", sa.BigInteger(), nullable=True),
        sa.Column("proof", sa.Text(), nullable=True),
        sa.Column("checked_at", MOMENT, nullable=True),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("duplicate_of", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(400), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sp_tlog_receipt")),
    )
    for column in ("leaf_hash", "received_at", "status"):
        op.create_index(
            op.f(f"ix_sp_tlog_receipt_{column}"),
            "sp_tlog_receipt",
            [column],
            unique=column == "leaf_hash",  # one leaf names one disclosure
        )
    op.create_table(
        "sp_tlog_alert",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("raised_at", MOMENT, nullable=False),
        sa.Column("last_seen_at", MOMENT, nullable=False),
        sa.Column("times_seen", sa.Integer(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("dpo_mailed_at", MOMENT, nullable=True),
        sa.Column("notice_id", sa.Integer(), nullable=True),
        sa.Column("delivery_error", sa.String(400), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sp_tlog_alert")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_sp_tlog_alert_fingerprint")),
    )
    op.create_table(
        "sp_tlog_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("lease_holder", sa.String(64), nullable=True),
        sa.Column("lease_until", MOMENT, nullable=True),
        sa.Column("last_attempt_at", MOMENT, nullable=True),
        sa.Column("last_success_at", MOMENT, nullable=True),
        sa.Column("last_error", sa.String(400), nullable=True),
        sa.Column("held_size", sa.BigInteger(), nullable=True),
        sa.Column("silent_since", MOMENT, nullable=True),
        sa.Column("refused", sa.String(100), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sp_tlog_state")),
    )
    state = sa.table("sp_tlog_state", sa.column("id", sa.Integer()))
    op.bulk_insert(state, [{"id": 1}])


def downgrade() -> None:
    op.drop_table("sp_tlog_state")
    op.drop_table("sp_tlog_alert")
    for column in ("status", "received_at", "leaf_hash"):
        op.drop_index(op.f(f"ix_sp_tlog_receipt_{column}"), table_name="sp_tlog_receipt")
    op.drop_table("sp_tlog_receipt")
    op.drop_table("sp_tlog_checkpoint")
