"""Art. 4: the last login's names folded for the staff's search (``sp_pupil.search_name``).

Revision ID: 0009_sp_pupil_search_name
Revises: 0008_sp_dossier_retention
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from leerid.sp.kit.name_search import name_key

revision = "0009_sp_pupil_search_name"
down_revision = "0008_sp_dossier_retention"
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table("sp_pupil") as batch:
        batch.add_column(sa.Column("search_name", sa.String(420), nullable=True))
    pupils = sa.table(
        "sp_pupil",
        sa.column("pupil_key", sa.String),
        sa.column("given_name", sa.String),
        sa.column("family_name", sa.String),
        sa.column("search_name", sa.String),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(pupils.c.pupil_key, pupils.c.given_name, pupils.c.family_name))
    folded = [{"k": key, "n": name_key(given, family)} for key, given, family in rows]
    change = (
        sa.update(pupils)
        .where(pupils.c.pupil_key == sa.bindparam("k"))
        .values(search_name=sa.bindparam("n"))
    )
    for start in range(0, len(folded), BATCH):
        if folded[start : start + BATCH]:
            conn.execute(change, folded[start : start + BATCH])


def downgrade() -> None:
    with op.batch_alter_table("sp_pupil") as batch:
        batch.drop_column("search_name")
