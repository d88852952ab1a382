"""Issue 14: clients as ACM/IDM serves them, identifiers as ACM issues them, keys that rotate.

- ``idp_client.profile``: ``strict`` (leerid's own rules, the default) or ``acm`` (ACM/IDM's
  relaxations: form_post and fragment response modes, PKCE optional for confidential clients,
  client assertions up to 10 minutes, logout at once for client_id plus a registered URI);
- ``idp_client.subject``: what ``sub`` holds, ``account_uuid`` (as before) or ``opaque`` (a
  stable 40-hex identifier per account, never the account_uuid, as ACM's PersoonsID);
- ``idp_client.api_scopes``: the DOV APIs the client may call with a client_credentials token
  (a JSON array of scopes; every client had the three before);
- ``idp_signing_key.activates_at``: a next key is published ahead and signs only from then
  (NULL: signing since it was created).

Revision ID: 0014_idp_acm_profile
Revises: 0013_idp_console
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_idp_acm_profile"
down_revision = "0013_idp_console"
branch_labels = None
depends_on = None

ALL_API_SCOPES = '["leerid:events", "leerid:quality-reports", "leerid:notices"]'


def upgrade() -> None:
    with op.batch_alter_table("idp_client") as batch:
        batch.add_column(
            sa.Column("profile", sa.String(8), nullable=False, server_default="strict")
        )
        batch.add_column(
            sa.Column("subject", sa.String(16), nullable=False, server_default="account_uuid")
        )
        batch.add_column(
            sa.Column("api_scopes", sa.Text(), nullable=False, server_default=ALL_API_SCOPES)
        )
    with op.batch_alter_table("idp_signing_key") as batch:
        batch.add_column(sa.Column("activates_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idp_signing_key") as batch:
        batch.drop_column("activates_at")
    with op.batch_alter_table("idp_client") as batch:
        batch.drop_column("api_scopes")
        batch.drop_column("subject")
        batch.drop_column("profile")
