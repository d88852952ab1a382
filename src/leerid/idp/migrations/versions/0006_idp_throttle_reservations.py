"""Issue 8 §5: login attempts are reserved before the password is checked.

Two columns on ``login_throttle``: ``pending`` (attempts in flight) and ``pending_at`` (when
the last was reserved), used by ``leerid.store.attempts``.

Revision ID: 0006_idp_throttle_reservations
Revises: 0004_idp_login
Create Date: 2026-11-29 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_idp_throttle_reservations"
down_revision = "0004_idp_login"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("login_throttle", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pending", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("pending_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("login_throttle", schema=None) as batch_op:
        batch_op.drop_column("pending_at")
        batch_op.drop_column("pending")
