"""Issue 10: when an unacknowledged SET may be delivered again (``redeliver_at``).

A delivered SET is left out of the answers until ``redeliver_at`` (its delivery plus
``LEERID_EVENTS_REDELIVER_SECONDS``), so the recipient can fetch the next SETs while it
applies these (RFC 8936 §2.4: "after a period of time ... MAY reissue"); a recipient that
could not process them asks for them at once (the poll member ``leerid_redeliver``), which
sets it back to NULL. Rows stored before are due at once (NULL), as they were.

Revision ID: 0010_idp_event_redeliver
Revises: 0010_idp_security_event_kid
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_idp_event_redeliver"
down_revision = "0010_idp_security_event_kid"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("idp_security_event") as batch_op:
        batch_op.add_column(sa.Column("redeliver_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idp_security_event") as batch_op:
        batch_op.drop_column("redeliver_at")
