"""The service provider's tables: last-login records, dossier, reports, staff, privacy log,
breaches.

Revision ID: 0001_sp
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_sp"
down_revision = None
branch_labels = None
depends_on = None

MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sp_pupil",
        sa.Column("pupil_key", sa.String(36), nullable=False),
        sa.Column("key_kind", sa.String(12), nullable=False),
        sa.Column("account_uuid", sa.String(36), nullable=False),
        sa.Column("given_name", sa.String(200), nullable=True),
        sa.Column("family_name", sa.String(200), nullable=True),
        sa.Column("orgcodes", sa.String(400), nullable=False),
        sa.Column("last_login_at", MOMENT, nullable=False),
        sa.PrimaryKeyConstraint("pupil_key", name=op.f("pk_sp_pupil")),
    )
    op.create_index(op.f("ix_sp_pupil_last_login_at"), "sp_pupil", ["last_login_at"])
    op.create_table(
        "sp_dossier_entry",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("pupil_key", sa.String(36), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("author", sa.String(80), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pupil_key"],
            ["sp_pupil.pupil_key"],
            name=op.f("fk_sp_dossier_entry_pupil_key_sp_pupil"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sp_dossier_entry")),
    )
    op.create_index(op.f("ix_sp_dossier_entry_pupil_key"), "sp_dossier_entry", ["pupil_key"])
    op.create_table(
        "sp_quality_report",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("remote_id", sa.String(36), nullable=True),
        sa.Column("pupil_key", sa.String(36), nullable=False),
        sa.Column("attribute", sa.String(40), nullable=False),
        sa.Column("problem", sa.String(20), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("updated_at", MOMENT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sp_quality_report")),
        sa.UniqueConstraint("remote_id", name=op.f("uq_sp_quality_report_remote_id")),
    )
    op.create_index(op.f("ix_sp_quality_report_pupil_key"), "sp_quality_report", ["pupil_key"])
    op.create_table(
        "sp_staff",
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("confidentiality_signed_on", sa.Date(), nullable=True),
        sa.Column("awareness_trained_on", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_sp_staff")),
    )
    op.create_table(
        "sp_privacy_log",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("at", MOMENT, nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("pupil_key", sa.String(36), nullable=True),
        sa.Column("purpose", sa.String(200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_sp_privacy_log")),
    )
    op.create_index(op.f("ix_sp_privacy_log_at"), "sp_privacy_log", ["at"])
    op.create_index(op.f("ix_sp_privacy_log_pupil_key"), "sp_privacy_log", ["pupil_key"])
    op.create_table(
        "sp_privacy_log_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sp_privacy_log_head")),
    )
    head = sa.table(
        "sp_privacy_log_head",
        sa.column("id", sa.Integer()),
        sa.column("seq", sa.Integer()),
        sa.column("entry_hash", sa.String()),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "entry_hash": "0" * 64}])
    op.create_table(
        "sp_log_prune",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", MOMENT, nullable=False),
        sa.Column("first_seq", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sp_log_prune")),
    )
    op.create_table(
        "sp_breach",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("discovered_at", MOMENT, nullable=False),
        sa.Column("recorded_at", MOMENT, nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("categories", sa.String(400), nullable=False),
        sa.Column("pupils_affected", sa.Integer(), nullable=False),
        sa.Column("measures", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("other_party_notified_at", MOMENT, nullable=True),
        sa.Column("authority_notified_at", MOMENT, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sp_breach")),
    )
    op.create_table(
        "sp_breach_update",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("breach_id", sa.Integer(), nullable=False),
        sa.Column("at", MOMENT, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("notified", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["breach_id"], ["sp_breach.id"], name=op.f("fk_sp_breach_update_breach_id_sp_breach")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sp_breach_update")),
    )
    op.create_index(op.f("ix_sp_breach_update_breach_id"), "sp_breach_update", ["breach_id"])


def downgrade() -> None:
    for table in (
        "sp_breach_update",
        "sp_breach",
        "sp_log_prune",
        "sp_privacy_log_head",
        "sp_privacy_log",
        "sp_staff",
        "sp_quality_report",
        "sp_dossier_entry",
        "sp_pupil",
    ):
        op.drop_table(table)
