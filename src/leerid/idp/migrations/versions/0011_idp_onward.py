"""Art. 4: the client registry knows each client's organisation by KBO number; a recipient's
notice of an onward recipient (kind ``doorgifte``) keeps that recipient.

Existing clients get the KBO number of their protocol's recipient (``parties.recipient.
enterprise_number`` of the newest stored version), when that protocol is stored.

Revision ID: 0011_idp_onward
Revises: 0010_idp_report_directions (the notices' table); depends on 0003_idp (the clients'
table) and 0002_protocols (the stored protocols)
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0011_idp_onward"
down_revision = "0010_idp_report_directions"
branch_labels = None
depends_on = ("0003_idp", "0002_protocols")


def _recipient_kbos(conn: sa.Connection) -> dict[str, str]:
    """protocol id → its recipient's KBO number, from the newest stored version."""
    rows = conn.execute(
        sa.text("SELECT protocol_id, canonical_json FROM protocol_version ORDER BY version")
    )
    found: dict[str, str] = {}
    for protocol_id, text in rows:
        number = json.loads(text).get("parties", {}).get("recipient", {}).get("enterprise_number")
        if number:
            found[protocol_id] = str(number)
    return found


def upgrade() -> None:
    with op.batch_alter_table("idp_client") as batch:
        batch.add_column(sa.Column("kbo", sa.String(12), nullable=True))
        batch.create_index(batch.f("ix_idp_client_kbo"), ["kbo"])
    with op.batch_alter_table("idp_notice") as batch:
        batch.add_column(sa.Column("onward_recipient", sa.Text(), nullable=True))
    conn = op.get_bind()
    for protocol_id, kbo in _recipient_kbos(conn).items():
        conn.execute(
            sa.text("UPDATE idp_client SET kbo = :kbo WHERE protocol_id = :p AND kbo IS NULL"),
            {"kbo": kbo, "p": protocol_id},
        )


def downgrade() -> None:
    with op.batch_alter_table("idp_notice") as batch:
        batch.drop_column("onward_recipient")
    with op.batch_alter_table("idp_client") as batch:
        batch.drop_index(batch.f("ix_idp_client_kbo"))
        batch.drop_column("kbo")
