"""The identity provider's tables: clients, keys, secrets, grants, refresh tokens, disclosures.

Hot-path design (issue 4 §7): a password login writes at most three rows — the grant (the
authorization code) at login, the same row again when the code becomes an access token, and
one disclosure record. The pending authorization request and the SSO session travel in
encrypted, signed browser state; only ended sessions are written (at logout).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from leerid.store.base import Base


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


class IdpClient(Base):
    """A registered relying party, bound to one protocol id (its current stored version)."""

    __tablename__ = "idp_client"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    protocol_id: Mapped[str] = mapped_column(String(100), index=True)
    redirect_uris: Mapped[str] = mapped_column(Text)  # JSON array
    post_logout_redirect_uris: Mapped[str] = mapped_column(Text)  # JSON array
    auth_method: Mapped[str] = mapped_column(String(32))
    secret_hash: Mapped[str | None] = mapped_column(String(64))  # SHA-256 hex of a 256-bit secret
    jwks: Mapped[str | None] = mapped_column(Text)
    jwks_uri: Mapped[str | None] = mapped_column(Text)
    id_token_alg: Mapped[str] = mapped_column(String(8), default="RS256")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Art. 4: the client's organisation (KBO 0123.456.789); "niet toegelaten [...] aan andere
    # dienstenleveranciers die (willen) aansluiten op Leer_ID" is decided by this number.
    kbo: Mapped[str | None] = mapped_column(String(12), index=True)
    # Issue 14: ``strict`` or ``acm`` (``leerid.idp.oauth.profiles``); what ``sub`` holds
    # (``account_uuid`` or ``opaque``); the DOV APIs it may call (JSON array of scopes).
    profile: Mapped[str] = mapped_column(String(8), default="strict", server_default="strict")
    subject: Mapped[str] = mapped_column(
        String(16), default="account_uuid", server_default="account_uuid"
    )
    api_scopes: Mapped[str] = mapped_column(
        Text, server_default='["leerid:events", "leerid:quality-reports", "leerid:notices"]'
    )


class IdpSigningKey(Base):
    """A signing key pair (private JWK); published until every token it signed has expired."""

    __tablename__ = "idp_signing_key"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    kty: Mapped[str] = mapped_column(String(8))  # RSA | EC
    private_jwk: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    retired_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Issue 14: a next key is published ahead and signs only from this moment (None: since
    # it was created).
    activates_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class IdpServerSecret(Base):
    """A symmetric secret shared by every worker and node (encrypts browser state)."""

    __tablename__ = "idp_server_secret"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class IdpGrant(Base):
    """One authorization's access token: the redeemed code's grant (written at redemption,
    under the grant id the sealed code carries, so a code redeems once), or a refresh's."""

    __tablename__ = "idp_grant"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    access_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    family_id: Mapped[str | None] = mapped_column(String(32), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    account_uuid: Mapped[str] = mapped_column(String(36))
    scope: Mapped[str] = mapped_column(Text)
    sid: Mapped[str | None] = mapped_column(String(32))
    auth_time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    code_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    code_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    access_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class IdpRefreshToken(Base):
    """A refresh token (only with ``offline_access``): single use, rotated, in a family."""

    __tablename__ = "idp_refresh_token"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    family_id: Mapped[str] = mapped_column(String(32), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    account_uuid: Mapped[str] = mapped_column(String(36))
    scope: Mapped[str] = mapped_column(Text)
    auth_time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class IdpAssertionJti(Base):
    """RFC 7523 §3: a client assertion's ``jti`` seen already (kept until it expires)."""

    __tablename__ = "idp_assertion_jti"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of client_id + jti
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


class IdpEndedSession(Base):
    """An SSO session ended by logout; its cookie is refused until it would have expired."""

    __tablename__ = "idp_ended_session"

    sid: Mapped[str] = mapped_column(String(32), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


class Disclosure(Base):
    """Issue 4 §5: one release (or refusal) of a pupil's data; claim names, never values."""

    __tablename__ = "idp_disclosure"
    __table_args__ = (
        Index("ix_idp_disclosure_leer_id_uuid_at", "leer_id_uuid", "at"),
        Index("ix_idp_disclosure_account_uuid_at", "account_uuid", "at"),
        Index("ix_idp_disclosure_client_id_at", "client_id", "at"),
        # The retention purge (``housekeeping``): a batch is a range scan of one outcome.
        Index("ix_idp_disclosure_outcome_at", "outcome", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    client_id: Mapped[str] = mapped_column(String(64))
    protocol_id: Mapped[str | None] = mapped_column(String(100))
    protocol_hash: Mapped[str | None] = mapped_column(String(64))
    leer_id_uuid: Mapped[str | None] = mapped_column(String(36))
    account_uuid: Mapped[str | None] = mapped_column(String(36))
    claims: Mapped[str] = mapped_column(Text)  # space-separated claim names
    endpoint: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16))  # released | refused
    reason: Mapped[str | None] = mapped_column(String(200))
    # Issue 12: the leaf hash of this record's transparency-log entry (the pupil's "bewijs").
    log_leaf: Mapped[bytes | None] = mapped_column(LargeBinary(32))
