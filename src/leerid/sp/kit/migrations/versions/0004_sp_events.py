"""Issue 10 point 4: the recipient follows the Department's events (applied SETs, signed
protocol versions, out-of-step announcements, the protocol's end, the poller's state).

Revision ID: 0004_sp_events
Revises: 0003_sp_login_throttle
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_sp_events"
down_revision = "0003_sp_login_throttle"
branch_labels = None
depends_on = None

MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sp_applied_event",
        sa.Column("jti", sa.String(64), nullable=False),
        sa.Column("txn", sa.String(40), nullable=False),
        sa.Column("event_type", sa.String(120), nullable=False),
        sa.Column("applied_at", MOMENT, nullable=False),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_sp_applied_event")),
    )
    op.create_index(op.f("ix_sp_applied_event_applied_at"), "sp_applied_event", ["applied_at"])
    op.create_table(
        "sp_protocol_version",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("protocol_id", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("in_force_from", MOMENT, nullable=False),
        sa.Column("signatures", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("received_at", MOMENT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sp_protocol_version")),
        sa.UniqueConstraint(
            "protocol_id", "version", name=op.f("uq_sp_protocol_version_protocol_id")
        ),
    )
    op.create_table(
        "sp_protocol_out_of_step",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("protocol_id", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("received_at", MOMENT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sp_protocol_out_of_step")),
    )
    op.create_index(
        op.f("ix_sp_protocol_out_of_step_protocol_id"), "sp_protocol_out_of_step", ["protocol_id"]
    )
    op.create_table(
        "sp_protocol_end",
        sa.Column("protocol_id", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("ground", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("effective_at", MOMENT, nullable=False),
        sa.Column("received_at", MOMENT, nullable=False),
        sa.PrimaryKeyConstraint("protocol_id", name=op.f("pk_sp_protocol_end")),
    )
    op.create_table(
        "sp_events_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("lease_holder", sa.String(64), nullable=True),
        sa.Column("lease_until", MOMENT, nullable=True),
        sa.Column("last_attempt_at", MOMENT, nullable=True),
        sa.Column("last_success_at", MOMENT, nullable=True),
        sa.Column("last_error", sa.String(400), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sp_events_state")),
    )
    state = sa.table("sp_events_state", sa.column("id", sa.Integer()))
    op.bulk_insert(state, [{"id": 1}])


def downgrade() -> None:
    op.drop_table("sp_events_state")
    op.drop_table("sp_protocol_end")
    op.drop_index(op.f("ix_sp_protocol_out_of_step_protocol_id"), "sp_protocol_out_of_step")
    op.drop_table("sp_protocol_out_of_step")
    op.drop_table("sp_protocol_version")
    op.drop_index(op.f("ix_sp_applied_event_applied_at"), "sp_applied_event")
    op.drop_table("sp_applied_event")
