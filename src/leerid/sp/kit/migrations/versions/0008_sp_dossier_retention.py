"""Art. 3: the dossier is not the disclosed data; it survives the purge under its own key.

The dossier entries get a ``dossier_key`` (a random UUID per pupil, one per distinct
``pupil_key`` for the rows already there) and a ``record_type``; ``pupil_key`` becomes
nullable and loses its ON DELETE CASCADE to ``sp_pupil``, so the three-year purge of the
disclosed data no longer takes the CLB's own record with it. The data-quality reports (ours
and DOV's) keep no LeerID key after the purge either: their ``pupil_key`` becomes nullable.

Revision ID: 0008_sp_dossier_retention
Revises: 0006_sp_recipient_duties
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0008_sp_dossier_retention"
down_revision = "0006_sp_recipient_duties"
branch_labels = None
depends_on = None


def _backfill() -> None:
    """One new random dossier key per pupil who already has entries."""
    conn = op.get_bind()
    entries = sa.table(
        "sp_dossier_entry", sa.column("pupil_key", sa.String), sa.column("dossier_key", sa.String)
    )
    keys = conn.execute(sa.select(entries.c.pupil_key).distinct()).scalars().all()
    for key in keys:
        conn.execute(
            sa.update(entries)
            .where(entries.c.pupil_key == key)
            .values(dossier_key=str(uuid.uuid4()))
        )


def upgrade() -> None:
    with op.batch_alter_table("sp_dossier_entry") as batch:
        batch.add_column(sa.Column("dossier_key", sa.String(36), nullable=True))
        batch.add_column(
            sa.Column("record_type", sa.String(40), nullable=False, server_default="activiteit")
        )
    _backfill()
    with op.batch_alter_table("sp_dossier_entry") as batch:
        batch.drop_constraint("fk_sp_dossier_entry_pupil_key_sp_pupil", type_="foreignkey")
        batch.alter_column("pupil_key", existing_type=sa.String(36), nullable=True)
        batch.alter_column("dossier_key", existing_type=sa.String(36), nullable=False)
        batch.create_index(op.f("ix_sp_dossier_entry_dossier_key"), ["dossier_key"])
    for table in ("sp_quality_report", "sp_dov_report"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column("pupil_key", existing_type=sa.String(36), nullable=True)


def downgrade() -> None:
    """Refused while the CLB keeps dossiers or reports without a LeerID key (art. 3): the
    older schema cannot hold them, and deleting them here would leave no receipt."""
    conn = op.get_bind()
    kept = {
        table: conn.execute(
            sa.text(f"SELECT count(*) FROM {table} WHERE pupil_key IS NULL")  # noqa: S608
        ).scalar_one()
        for table in ("sp_quality_report", "sp_dov_report", "sp_dossier_entry")
    }
    if any(kept.values()):
        counts = ", ".join(f"{table}: {count}" for table, count in kept.items() if count)
        raise RuntimeError(
            f"cannot downgrade below 0008_sp_dossier_retention: rows kept without a LeerID key "
            f"({counts}) do not fit the older schema; let their own retention delete them "
            "(`leerid sp dossier purge`) or keep this version"
        )
    for table in ("sp_quality_report", "sp_dov_report"):
        with op.batch_alter_table(table) as batch:
            batch.alter_column("pupil_key", existing_type=sa.String(36), nullable=False)
    with op.batch_alter_table("sp_dossier_entry") as batch:
        batch.drop_index(op.f("ix_sp_dossier_entry_dossier_key"))
        batch.alter_column("pupil_key", existing_type=sa.String(36), nullable=False)
        batch.create_foreign_key(
            "fk_sp_dossier_entry_pupil_key_sp_pupil",
            "sp_pupil",
            ["pupil_key"],
            ["pupil_key"],
            ondelete="CASCADE",
        )
        batch.drop_column("record_type")
        batch.drop_column("dossier_key")
