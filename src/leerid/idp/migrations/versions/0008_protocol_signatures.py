"""Art. 11: signing keys, recorded signatures and attestations; who added a version.

Revision ID: 0008_protocol_signatures
Revises: 0002_protocols

Versions stored before this revision were in force by the signature block of their YAML.
So that a database in service keeps disclosing under the version it was in force under,
each party's signature of that block becomes an attestation by operator "migration", but
only on the first version stored with that signature (same party, signer and moment): a
later version that kept an old signature block over changed content (the bug of issue 10)
gets none and needs new signatures.
"""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
from alembic import op

revision = "0008_protocol_signatures"
down_revision = "0002_protocols"
branch_labels = None
depends_on = None


def _tables() -> None:
    op.create_table(
        "protocol_key",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kid", sa.String(length=100), nullable=False),
        sa.Column("party", sa.String(length=20), nullable=False),
        sa.Column("protocol_id", sa.String(length=100), nullable=True),
        sa.Column("alg", sa.String(length=10), nullable=False),
        sa.Column("public_jwk", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("added_by", sa.String(length=200), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protocol_key")),
    )
    op.create_index(op.f("ix_protocol_key_kid"), "protocol_key", ["kid"], unique=False)
    op.create_table(
        "protocol_signature",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("protocol_id", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("party", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("signer", sa.String(length=200), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day_only", sa.Boolean(), nullable=False),
        sa.Column("jws", sa.Text(), nullable=True),
        sa.Column("kid", sa.String(length=100), nullable=True),
        sa.Column("document_sha256", sa.String(length=64), nullable=True),
        sa.Column("operator", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_protocol_signature")),
    )
    op.create_index(
        op.f("ix_protocol_signature_protocol_id"),
        "protocol_signature",
        ["protocol_id"],
        unique=False,
    )
    with op.batch_alter_table("protocol_version") as batch:
        batch.add_column(sa.Column("added_by", sa.String(length=200), nullable=True))


def _attest_existing() -> None:
    conn = op.get_bind()
    versions = sa.table(
        "protocol_version",
        sa.column("protocol_id"),
        sa.column("version"),
        sa.column("content_hash"),
        sa.column("canonical_json"),
    )
    signatures = sa.table(
        "protocol_signature",
        *(sa.column(c) for c in ("protocol_id", "version", "content_hash", "party", "kind")),
        *(sa.column(c) for c in ("signer", "signed_at", "day_only", "operator", "recorded_at")),
    )
    seen: set[tuple[str, str, str, str]] = set()
    now = dt.datetime.now(dt.UTC)
    rows = conn.execute(
        sa.select(versions).order_by(versions.c.protocol_id, versions.c.version)
    ).all()
    for protocol_id, version, digest, text in rows:
        for sig in json.loads(text).get("signatures") or []:
            key = (protocol_id, sig["party"], sig["name"], sig["signed_at"])
            if key in seen:
                continue  # the same signature over changed content: not carried over
            seen.add(key)
            conn.execute(
                signatures.insert().values(
                    protocol_id=protocol_id,
                    version=version,
                    content_hash=digest,
                    party=sig["party"],
                    kind="attestation",
                    signer=sig["name"],
                    signed_at=dt.datetime.fromisoformat(sig["signed_at"]).astimezone(dt.UTC),
                    day_only=False,
                    operator="migration",
                    recorded_at=now,
                )
            )


def upgrade() -> None:
    _tables()
    _attest_existing()


def downgrade() -> None:
    with op.batch_alter_table("protocol_version") as batch:
        batch.drop_column("added_by")
    op.drop_index(op.f("ix_protocol_signature_protocol_id"), "protocol_signature")
    op.drop_table("protocol_signature")
    op.drop_index(op.f("ix_protocol_key_kid"), "protocol_key")
    op.drop_table("protocol_key")
