"""Issue 10: each SET records the key that signed it (``idp_security_event.kid``), so a retired
key that still signs a pending SET stays published (RFC 8936 §2.4: delivered until acknowledged).

Rows stored before get their kid from the JWS's own header, read in batches of ``BATCH`` (only
the first characters of each JWS, where the header is); a row whose header cannot be read keeps
NULL (it then holds no key back, as before this revision).

Revision ID: 0010_idp_security_event_kid
Revises: 0010_idp_security_events
"""

from __future__ import annotations

import base64
import json

import sqlalchemy as sa
from alembic import op

revision = "0010_idp_security_event_kid"
down_revision = "0010_idp_security_events"
branch_labels = None
depends_on = None

BATCH = 1000
HEAD_CHARS = 400
"""The JWS's first characters read per row: its encoded header (about 100) and the dot."""
INDEX = "ix_idp_security_event_kid_state"

_events = sa.table(
    "idp_security_event",
    sa.column("id", sa.Integer()),
    sa.column("jws", sa.Text()),
    sa.column("kid", sa.String(64)),
)


def _kid_of(start: str) -> str | None:
    """The ``kid`` of the JOSE header at the start of a compact JWS, or None."""
    encoded, dot, _ = start.partition(".")
    if not dot:
        return None
    try:
        header = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except ValueError:  # bad base64, bad UTF-8 or bad JSON: leave the row as it is
        return None
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) and 0 < len(kid) <= 64 else None


def _fill_kids(conn: sa.Connection) -> None:
    """Every row's kid from its JWS header, ``BATCH`` rows at a time in ``id`` order."""
    update = (
        _events.update()
        .where(_events.c.id == sa.bindparam("row_id"))
        .values(kid=sa.bindparam("row_kid"))
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.select(_events.c.id, sa.func.substr(_events.c.jws, 1, HEAD_CHARS))
            .where(_events.c.id > last)
            .order_by(_events.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        found = [{"row_id": i, "row_kid": k} for i, start in rows if (k := _kid_of(start))]
        if found:
            conn.execute(update, found)
        last = rows[-1][0]


def upgrade() -> None:
    op.add_column("idp_security_event", sa.Column("kid", sa.String(length=64), nullable=True))
    _fill_kids(op.get_bind())
    op.create_index(INDEX, "idp_security_event", ["kid", "state"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="idp_security_event")
    with op.batch_alter_table("idp_security_event") as batch:
        batch.drop_column("kid")
