"""The identity provider: clients, signing keys, server secret, grants, refresh tokens,
client-assertion jti, ended SSO sessions, the disclosure log.

Revision ID: 0003_idp
Revises: 0001_registry
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_idp"
down_revision = "0001_registry"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "idp_client",
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("protocol_id", sa.String(100), nullable=False),
        sa.Column("redirect_uris", sa.Text(), nullable=False),
        sa.Column("post_logout_redirect_uris", sa.Text(), nullable=False),
        sa.Column("auth_method", sa.String(32), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=True),
        sa.Column("jwks", sa.Text(), nullable=True),
        sa.Column("jwks_uri", sa.Text(), nullable=True),
        sa.Column("id_token_alg", sa.String(8), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("disabled_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_idp_client")),
    )
    op.create_index(op.f("ix_idp_client_protocol_id"), "idp_client", ["protocol_id"])
    op.create_table(
        "idp_signing_key",
        sa.Column("kid", sa.String(64), nullable=False),
        sa.Column("kty", sa.String(8), nullable=False),
        sa.Column("private_jwk", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("retired_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_idp_signing_key")),
    )
    op.create_table(
        "idp_server_secret",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("value", sa.String(128), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_idp_server_secret")),
    )
    op.create_table(
        "idp_grant",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=True),
        sa.Column("access_token_hash", sa.String(64), nullable=True),
        sa.Column("family_id", sa.String(32), nullable=True),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("account_uuid", sa.String(36), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("nonce", sa.Text(), nullable=True),
        sa.Column("redirect_uri", sa.Text(), nullable=True),
        sa.Column("code_challenge", sa.String(128), nullable=True),
        sa.Column("sid", sa.String(32), nullable=True),
        sa.Column("auth_time", TZ, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("code_expires_at", TZ, nullable=True),
        sa.Column("code_used_at", TZ, nullable=True),
        sa.Column("access_expires_at", TZ, nullable=True),
        sa.Column("revoked_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idp_grant")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_idp_grant_code_hash")),
        sa.UniqueConstraint("access_token_hash", name=op.f("uq_idp_grant_access_token_hash")),
    )
    op.create_index(op.f("ix_idp_grant_family_id"), "idp_grant", ["family_id"])
    op.create_table(
        "idp_refresh_token",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("family_id", sa.String(32), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("account_uuid", sa.String(36), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("auth_time", TZ, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("used_at", TZ, nullable=True),
        sa.Column("revoked_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_idp_refresh_token")),
    )
    op.create_index(op.f("ix_idp_refresh_token_family_id"), "idp_refresh_token", ["family_id"])
    op.create_table(
        "idp_assertion_jti",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_idp_assertion_jti")),
    )
    op.create_index(op.f("ix_idp_assertion_jti_expires_at"), "idp_assertion_jti", ["expires_at"])
    op.create_table(
        "idp_ended_session",
        sa.Column("sid", sa.String(32), nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("sid", name=op.f("pk_idp_ended_session")),
    )
    op.create_index(op.f("ix_idp_ended_session_expires_at"), "idp_ended_session", ["expires_at"])
    op.create_table(
        "idp_disclosure",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("protocol_id", sa.String(100), nullable=True),
        sa.Column("protocol_hash", sa.String(64), nullable=True),
        sa.Column("leer_id_uuid", sa.String(36), nullable=True),
        sa.Column("account_uuid", sa.String(36), nullable=True),
        sa.Column("claims", sa.Text(), nullable=False),
        sa.Column("endpoint", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idp_disclosure")),
    )
    op.create_index("ix_idp_disclosure_leer_id_uuid_at", "idp_disclosure", ["leer_id_uuid", "at"])
    op.create_index("ix_idp_disclosure_account_uuid_at", "idp_disclosure", ["account_uuid", "at"])
    op.create_index("ix_idp_disclosure_client_id_at", "idp_disclosure", ["client_id", "at"])


def downgrade() -> None:
    for table in (
        "idp_disclosure",
        "idp_ended_session",
        "idp_assertion_jti",
        "idp_refresh_token",
        "idp_grant",
        "idp_server_secret",
        "idp_signing_key",
        "idp_client",
    ):
        op.drop_table(table)
