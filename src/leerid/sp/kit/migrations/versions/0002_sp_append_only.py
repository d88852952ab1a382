"""Art. 6: the privacy log is append-only in the database itself (no UPDATE of an entry).

Deleting stays possible for the signed pruning; a deletion outside it breaks the hash chain
and ``leerid sp log verify`` names it.

Revision ID: 0002_sp_append_only
Revises: 0001_sp
"""

from __future__ import annotations

from alembic import op

revision = "0002_sp_append_only"
down_revision = "0001_sp"
branch_labels = None
depends_on = None

MESSAGE = "the privacy log is append-only (protocol art. 6)"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION sp_privacy_log_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER sp_privacy_log_no_update BEFORE UPDATE ON sp_privacy_log "
            "FOR EACH ROW EXECUTE FUNCTION sp_privacy_log_append_only()"
        )
    else:
        op.execute(
            "CREATE TRIGGER sp_privacy_log_no_update BEFORE UPDATE ON sp_privacy_log "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER sp_privacy_log_no_update ON sp_privacy_log")
        op.execute("DROP FUNCTION sp_privacy_log_append_only()")
    else:
        op.execute("DROP TRIGGER sp_privacy_log_no_update")
