"""Art. 4 and 6: function profiles and school scopes, onward recipients, the risk assessment.

Revision ID: 0006_sp_recipient_duties
Revises: 0004_sp_events, 0005_sp_dov_reports
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_sp_recipient_duties"
down_revision = ("0004_sp_events", "0005_sp_dov_reports")
branch_labels = None
depends_on = None

MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("sp_staff") as batch:
        batch.add_column(sa.Column("function_profile", sa.String(40), nullable=True))
        batch.add_column(sa.Column("schools", sa.String(2000), nullable=False, server_default=""))
    op.create_table(
        "sp_onward_recipient",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kbo", sa.String(12), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=True),
        sa.Column("notified_at", MOMENT, nullable=True),
        sa.Column("leerid_service_provider", sa.Boolean(), nullable=True),
        sa.Column("checked_at", MOMENT, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sp_onward_recipient")),
        sa.UniqueConstraint("kbo", name=op.f("uq_sp_onward_recipient_kbo")),
    )
    op.create_table(
        "sp_onward_export",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("at", MOMENT, nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("pupils", sa.Integer(), nullable=False),
        sa.Column("attributes", sa.String(400), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["sp_onward_recipient.id"],
            name=op.f("fk_sp_onward_export_recipient_id_sp_onward_recipient"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sp_onward_export")),
    )
    op.create_index(
        op.f("ix_sp_onward_export_recipient_id"), "sp_onward_export", ["recipient_id"]
    )
    op.create_table(
        "sp_risk_assessment",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("risk", sa.Text(), nullable=False),
        sa.Column("measures", sa.Text(), nullable=False),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("recorded_by", sa.String(80), nullable=False),
        sa.Column("recorded_at", MOMENT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sp_risk_assessment")),
    )


def downgrade() -> None:
    op.drop_table("sp_risk_assessment")
    op.drop_index(op.f("ix_sp_onward_export_recipient_id"), table_name="sp_onward_export")
    op.drop_table("sp_onward_export")
    op.drop_table("sp_onward_recipient")
    with op.batch_alter_table("sp_staff") as batch:
        batch.drop_column("schools")
        batch.drop_column("function_profile")
