"""Issue 15: authorization codes are sealed values, no longer rows.

A code carries its grant (``leerid.idp.web.authorization_codes``); its redemption inserts the
grant row with the access token. The columns only a stored code needed go:
``idp_grant.code_hash`` (with its unique index), ``nonce``, ``redirect_uri`` and
``code_challenge``. Codes stored before the upgrade are not redeemable after it (they live 30
seconds): the pupil's client starts the login again.

Revision ID: 0015_idp_sealed_codes
Revises: 0014_idp_acm_profile
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_idp_sealed_codes"
down_revision = "0014_idp_acm_profile"
branch_labels = None
depends_on = None

_CODE_ONLY = ("code_hash", "nonce", "redirect_uri", "code_challenge")


def upgrade() -> None:
    # A code stored and not redeemed is of no use any more; its row would look redeemed.
    op.execute("DELETE FROM idp_grant WHERE code_used_at IS NULL AND access_token_hash IS NULL")
    with op.batch_alter_table("idp_grant") as batch:
        batch.drop_constraint("uq_idp_grant_code_hash", type_="unique")
        for column in _CODE_ONLY:
            batch.drop_column(column)


def downgrade() -> None:
    with op.batch_alter_table("idp_grant") as batch:
        batch.add_column(sa.Column("code_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("nonce", sa.Text(), nullable=True))
        batch.add_column(sa.Column("redirect_uri", sa.Text(), nullable=True))
        batch.add_column(sa.Column("code_challenge", sa.String(128), nullable=True))
        batch.create_unique_constraint("uq_idp_grant_code_hash", ["code_hash"])
