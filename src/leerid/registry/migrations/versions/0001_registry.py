"""The registry: pupils, registrations, enrolments, accounts, credentials, INSZ history, merges.

Revision ID: 0001_registry
Revises:
Create Date: 2026-11-28 20:14:05.550777
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_registry"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "merge_record",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kept_leer_id_uuid", sa.String(length=36), nullable=False),
        sa.Column("absorbed_leer_id_uuid", sa.String(length=36), nullable=False),
        sa.Column("operator", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merge_record")),
        sa.UniqueConstraint(
            "absorbed_leer_id_uuid", name=op.f("uq_merge_record_absorbed_leer_id_uuid")
        ),
    )
    op.create_table(
        "pupil",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("leer_id_uuid", sa.String(length=36), nullable=True),
        sa.Column("insz", sa.String(length=11), nullable=True),
        sa.Column("naam", sa.String(length=200), nullable=False),
        sa.Column("voornaam", sa.String(length=200), nullable=False),
        sa.Column("geboortedatum", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pupil")),
        sa.UniqueConstraint("insz", name=op.f("uq_pupil_insz")),
        sa.UniqueConstraint("leer_id_uuid", name=op.f("uq_pupil_leer_id_uuid")),
    )
    op.create_table(
        "account",
        sa.Column("account_uuid", sa.String(length=36), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("referte", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["pupil_id"], ["pupil.id"], name=op.f("fk_account_pupil_id_pupil")),
        sa.PrimaryKeyConstraint("account_uuid", name=op.f("pk_account")),
    )
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_account_pupil_id"), ["pupil_id"], unique=False)

    op.create_table(
        "insz_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("insz", sa.String(length=11), nullable=False),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["pupil_id"], ["pupil.id"], name=op.f("fk_insz_history_pupil_id_pupil")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insz_history")),
    )
    with op.batch_alter_table("insz_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_insz_history_insz"), ["insz"], unique=False)
        batch_op.create_index(batch_op.f("ix_insz_history_pupil_id"), ["pupil_id"], unique=False)

    op.create_table(
        "registration",
        sa.Column("referte", sa.String(length=32), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("insz", sa.String(length=11), nullable=True),
        sa.Column("naam", sa.String(length=200), nullable=False),
        sa.Column("voornaam", sa.String(length=200), nullable=False),
        sa.Column("geboortedatum", sa.Date(), nullable=False),
        sa.Column("digest", sa.String(length=32), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["pupil_id"], ["pupil.id"], name=op.f("fk_registration_pupil_id_pupil")
        ),
        sa.PrimaryKeyConstraint("referte", name=op.f("pk_registration")),
    )
    with op.batch_alter_table("registration", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_registration_pupil_id"), ["pupil_id"], unique=False)

    op.create_table(
        "enrolment_digest",
        sa.Column("referte", sa.String(length=32), nullable=False),
        sa.Column("digest", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("referte", name=op.f("pk_enrolment_digest")),
    )
    op.create_table(
        "credential",
        sa.Column("account_uuid", sa.String(length=36), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_uuid"],
            ["account.account_uuid"],
            name=op.f("fk_credential_account_uuid_account"),
        ),
        sa.PrimaryKeyConstraint("account_uuid", name=op.f("pk_credential")),
        sa.UniqueConstraint("username", name=op.f("uq_credential_username")),
    )
    op.create_table(
        "enrolment",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("referte", sa.String(length=32), nullable=False),
        sa.Column("instellingsnummer", sa.String(length=6), nullable=False),
        sa.Column("administratieve_groep", sa.String(length=6), nullable=False),
        sa.Column("begindatum", sa.Date(), nullable=False),
        sa.Column("einddatum", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["referte"],
            ["registration.referte"],
            name=op.f("fk_enrolment_referte_registration"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment")),
    )
    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_enrolment_instellingsnummer"), ["instellingsnummer"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_enrolment_referte"), ["referte"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("enrolment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrolment_referte"))
        batch_op.drop_index(batch_op.f("ix_enrolment_instellingsnummer"))

    op.drop_table("enrolment")
    op.drop_table("credential")
    op.drop_table("enrolment_digest")
    with op.batch_alter_table("registration", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registration_pupil_id"))

    op.drop_table("registration")
    with op.batch_alter_table("insz_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_insz_history_pupil_id"))
        batch_op.drop_index(batch_op.f("ix_insz_history_insz"))

    op.drop_table("insz_history")
    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_account_pupil_id"))

    op.drop_table("account")
    op.drop_table("pupil")
    op.drop_table("merge_record")
