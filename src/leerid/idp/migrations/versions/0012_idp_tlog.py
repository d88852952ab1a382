"""Issue 12: the transparency log's tables, and each disclosure record's leaf hash.

The state row starts with the empty tree (RFC 9162 §2.1.1: size 0, root SHA-256 of the
empty string). Disclosures recorded before this migration have no entry (``log_leaf`` stays
empty): the log proves what happened from here on, it cannot prove the past.

Revision ID: 0012_idp_tlog
Revises: 0011_idp_onward
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0012_idp_tlog"
down_revision = "0011_idp_onward"
branch_labels = None
depends_on = None

_BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "idp_tlog_entry",
        sa.Column("seq", _BIGINT_ID, primary_key=True, autoincrement=True),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("idx", sa.BigInteger(), nullable=True),
        sa.UniqueConstraint("idx", name=op.f("uq_idp_tlog_entry_idx")),
    )
    op.create_index("ix_idp_tlog_entry_leaf_hash", "idp_tlog_entry", ["leaf_hash"])
    op.create_index(
        "ix_idp_tlog_entry_pending",
        "idp_tlog_entry",
        ["seq"],
        postgresql_where=sa.text("idx IS NULL"),
        sqlite_where=sa.text("idx IS NULL"),
    )
    op.create_table(
        "idp_tlog_tile",
        sa.Column("level", sa.SmallInteger(), primary_key=True, autoincrement=False),
        sa.Column("idx", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("hashes", sa.LargeBinary(), nullable=False),
    )
    state = op.create_table(
        "idp_tlog_state",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("integrator", sa.String(200), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("integrated_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.bulk_insert(state, [{"id": 1, "size": 0, "root": hashlib.sha256(b"").digest()}])
    op.create_table(
        "idp_tlog_checkpoint",
        sa.Column("size", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "idp_tlog_witness",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("vkey", sa.String(400), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(op.f("ix_idp_tlog_witness_client_id"), "idp_tlog_witness", ["client_id"])
    op.create_table(
        "idp_tlog_cosignature",
        sa.Column("size", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("witness", sa.String(200), primary_key=True),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("idp_disclosure") as batch:
        batch.add_column(sa.Column("log_leaf", sa.LargeBinary(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idp_disclosure") as batch:
        batch.drop_column("log_leaf")
    op.drop_table("idp_tlog_cosignature")
    op.drop_index(op.f("ix_idp_tlog_witness_client_id"), table_name="idp_tlog_witness")
    op.drop_table("idp_tlog_witness")
    op.drop_table("idp_tlog_checkpoint")
    op.drop_table("idp_tlog_state")
    op.drop_table("idp_tlog_tile")
    op.drop_index("ix_idp_tlog_entry_pending", table_name="idp_tlog_entry")
    op.drop_index("ix_idp_tlog_entry_leaf_hash", table_name="idp_tlog_entry")
    op.drop_table("idp_tlog_entry")
