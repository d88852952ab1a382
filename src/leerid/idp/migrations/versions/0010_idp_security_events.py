"""Issue 10, point 3: the outbox of Security Event Tokens, the publisher's cursor, the clients
told their protocol version.

Revision ID: 0010_idp_security_events
Revises: 0008_idp_protocol_endings
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0010_idp_security_events"
down_revision = "0008_idp_protocol_endings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "idp_security_event",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("jti", sa.String(length=32), nullable=False),
        sa.Column("change_id", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("jws", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("err", sa.String(length=40), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idp_security_event")),
        sa.UniqueConstraint("jti", name=op.f("uq_idp_security_event_jti")),
        sa.UniqueConstraint("client_id", "change_id", name="uq_idp_security_event_client_change"),
    )
    op.create_index(
        "ix_idp_security_event_poll", "idp_security_event", ["client_id", "state", "id"]
    )
    op.create_index("ix_idp_security_event_created_at", "idp_security_event", ["created_at"])
    cursor = op.create_table(
        "idp_event_cursor",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("last_change_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_idp_event_cursor")),
    )
    op.bulk_insert(
        cursor, [{"name": "publisher", "last_change_id": 0, "updated_at": dt.datetime.now(dt.UTC)}]
    )
    op.create_table(
        "idp_event_client",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("welcomed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_idp_event_client")),
    )


def downgrade() -> None:
    op.drop_table("idp_event_client")
    op.drop_table("idp_event_cursor")
    op.drop_index("ix_idp_security_event_created_at", table_name="idp_security_event")
    op.drop_index("ix_idp_security_event_poll", table_name="idp_security_event")
    op.drop_table("idp_security_event")
