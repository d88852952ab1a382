"""Issue 13: DOV's console: staff accounts and their privacy log, DOV's breach register,
disclosures counted per client and day and per hour (kept by the log's integrator).

Revision ID: 0013_idp_console
Revises: 0012_idp_tlog
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_idp_console"
down_revision = "0012_idp_tlog"
branch_labels = None
depends_on = None

MOMENT = sa.DateTime(timezone=True)
_BIGINT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "idp_staff",
        sa.Column("username", sa.String(80), primary_key=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("confidentiality_signed_on", sa.Date(), nullable=True),
        sa.Column("awareness_trained_on", sa.Date(), nullable=True),
    )
    op.create_table(
        "idp_staff_log",
        sa.Column("seq", _BIGINT_ID, primary_key=True, autoincrement=False),
        sa.Column("at", MOMENT, nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("pupil_key", sa.String(36), nullable=True),
        sa.Column("purpose", sa.String(200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_idp_staff_log_at", "idp_staff_log", ["at"])
    op.create_index("ix_idp_staff_log_actor", "idp_staff_log", ["actor"])
    op.create_index("ix_idp_staff_log_pupil_key", "idp_staff_log", ["pupil_key"])
    op.create_table(
        "idp_staff_log_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", _BIGINT_ID, nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "idp_breach",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("discovered_at", MOMENT, nullable=False),
        sa.Column("recorded_at", MOMENT, nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("categories", sa.String(400), nullable=False),
        sa.Column("pupils_affected", sa.Integer(), nullable=False),
        sa.Column("measures", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("other_party_notified_at", MOMENT, nullable=True),
        sa.Column("authority_notified_at", MOMENT, nullable=True),
        sa.Column("authority_reference", sa.String(200), nullable=True),
        sa.Column("authority_not_needed", sa.Text(), nullable=True),
        sa.Column("clients", sa.String(2000), nullable=False, server_default=""),
    )
    op.create_table(
        "idp_breach_update",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("breach_id", sa.Integer(), sa.ForeignKey("idp_breach.id"), nullable=False),
        sa.Column("at", MOMENT, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("notified", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_idp_breach_update_breach_id", "idp_breach_update", ["breach_id"])
    op.create_table(
        "idp_disclosure_day",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("protocol_id", sa.String(100), primary_key=True),
        sa.Column("endpoint", sa.String(32), primary_key=True),
        sa.Column("outcome", sa.String(16), primary_key=True),
        sa.Column("count", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_idp_disclosure_day_client_day", "idp_disclosure_day", ["client_id", "day"])
    op.create_table(
        "idp_disclosure_hour",
        sa.Column("hour", MOMENT, primary_key=True),
        sa.Column("client_id", sa.String(64), primary_key=True),
        sa.Column("endpoint", sa.String(32), primary_key=True),
        sa.Column("outcome", sa.String(16), primary_key=True),
        sa.Column("count", sa.BigInteger(), nullable=False),
    )
    rollup = op.create_table(
        "idp_disclosure_rollup",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("rebuilt_at", MOMENT, nullable=True),
        sa.Column("rebuilt_to_size", sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(rollup, [{"id": 1, "rebuilt_at": None, "rebuilt_to_size": 0}])


def downgrade() -> None:
    for table in (
        "idp_disclosure_rollup",
        "idp_disclosure_hour",
        "idp_disclosure_day",
        "idp_breach_update",
        "idp_breach",
        "idp_staff_log_head",
        "idp_staff_log",
        "idp_staff",
    ):
        op.drop_table(table)
