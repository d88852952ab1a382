"""Art. 7 both ways and from the pupil; art. 9 notices and art. 6 processor-list requests.

A data-quality report gets its source (client, dov, pupil), who at DOV sent it, the clients a
pupil's report was passed on to, and the recipient's answer; ``client_id`` may be empty (a
pupil's report that no client's data concerns). New tables: the recipients' notices and
DOV's requests for processor lists.

Revision ID: 0010_idp_report_directions
Revises: 0008_idp_protocol_endings
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_idp_report_directions"
down_revision = "0008_idp_protocol_endings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("idp_quality_report") as batch:
        batch.alter_column("client_id", existing_type=sa.String(64), nullable=True)
        batch.add_column(
            sa.Column("source", sa.String(10), server_default="client", nullable=False)
        )
        batch.add_column(sa.Column("operator", sa.String(200), nullable=True))
        batch.add_column(sa.Column("forwarded_to", sa.Text(), nullable=True))
        batch.add_column(sa.Column("answer_status", sa.String(20), nullable=True))
        batch.add_column(sa.Column("answer_text", sa.Text(), nullable=True))
        batch.add_column(sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("answered_by", sa.String(64), nullable=True))
    op.create_table(
        "idp_notice",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("processors", sa.Text(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idp_notice")),
    )
    op.create_index(op.f("ix_idp_notice_client_id"), "idp_notice", ["client_id"])
    op.create_table(
        "idp_processor_request",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("operator", sa.String(200), nullable=False),
        sa.Column("answered_by", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idp_processor_request")),
    )
    op.create_index(
        op.f("ix_idp_processor_request_client_id"), "idp_processor_request", ["client_id"]
    )


def downgrade() -> None:
    op.drop_table("idp_processor_request")
    op.drop_table("idp_notice")
    with op.batch_alter_table("idp_quality_report") as batch:
        for column in (
            "answered_by",
            "answered_at",
            "answer_text",
            "answer_status",
            "forwarded_to",
            "operator",
            "source",
        ):
            batch.drop_column(column)
        batch.alter_column("client_id", existing_type=sa.String(64), nullable=False)
