"""Art. 7: a short code per data-quality report (``DQ-7K3M``), the same on both sides.

Existing reports get a code here; the service provider learns it at its next status read.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0007_idp_report_codes"
down_revision = "0005_idp_reports"
branch_labels = None
depends_on = None

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # as leerid.idp.store.report_codes, frozen here


def upgrade() -> None:
    op.add_column("idp_quality_report", sa.Column("code", sa.String(12), nullable=True))
    conn = op.get_bind()
    table = sa.table("idp_quality_report", sa.column("id"), sa.column("code"))
    used: set[str] = set()
    for (report_id,) in conn.execute(sa.select(table.c.id)).all():
        code = ""
        while not code or code in used:
            code = "DQ-" + "".join(secrets.choice(_ALPHABET) for _ in range(6))
        used.add(code)
        conn.execute(table.update().where(table.c.id == report_id).values(code=code))
    with op.batch_alter_table("idp_quality_report") as batch:
        batch.alter_column("code", existing_type=sa.String(12), nullable=False)
    op.create_index(op.f("ix_idp_quality_report_code"), "idp_quality_report", ["code"], unique=True)


def downgrade() -> None:
    op.drop_index(op.f("ix_idp_quality_report_code"), "idp_quality_report")
    with op.batch_alter_table("idp_quality_report") as batch:
        batch.drop_column("code")
