"""Issue 13: the supervisory authority's side of a breach (GDPR art. 33.1, 33.5): its
reference when told, or the documented reason why it was not.

Revision ID: 0011_sp_breach_authority
Revises: 0010_sp_tlog
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_sp_breach_authority"
down_revision = "0010_sp_tlog"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sp_breach") as batch:
        batch.add_column(sa.Column("authority_reference", sa.String(200), nullable=True))
        batch.add_column(sa.Column("authority_not_needed", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sp_breach") as batch:
        batch.drop_column("authority_not_needed")
        batch.drop_column("authority_reference")
