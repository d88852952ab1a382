"""Grants, access tokens and refresh tokens in the database (SQLAlchemy Core, hashed secrets).

RFC 6749 §4.1.2 and §10.5: a code is single use, short-lived (30 s) and bound to the client,
the redirect URI and the PKCE challenge; when a code is used twice the tokens issued from it
are revoked. A code is not stored: it is sealed (``leerid.idp.web.authorization_codes``) and
carries its grant's id. Its redemption inserts the grant row, with the access token, under
that id (``leerid.idp.store.exchange``): the primary key lets a code be redeemed once, and
the row is there for a second use to find and revoke. Access and refresh tokens are random
256-bit strings of which only the SHA-256 is stored, so a copy of the database yields no
usable token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Executable,
    Select,
    Table,
    bindparam,
    literal_column,
    select,
    update,
)

from leerid.idp.store._fast_path import HotStatement
from leerid.idp.store.endings import ending_exists
from leerid.idp.store.models import IdpClient, IdpEndedSession, IdpGrant, IdpRefreshToken
from leerid.idp.store.pupils import joined_to_pupil, pupil_columns

__all__ = [
    "CODE_REUSE_WINDOW",
    "AccessGrant",
    "CodeGrant",
    "find_access_token",
    "may_issue_code",
    "new_token",
    "revoke_access_token",
    "revoke_refresh_token",
    "token_hash",
]

CODE_REUSE_WINDOW = 600
"""Seconds after its expiry a sealed code still opens, so that a replay is seen as a reuse
(and revokes); its grant row is kept at least as long (``housekeeping``)."""

G = cast(Table, IdpGrant.__table__)
R = cast(Table, IdpRefreshToken.__table__)


def _code_guard(*, session: bool, ending: bool) -> Executable:
    """Whether a code may be issued now: its SSO session was not ended by a logout
    (``session``) and the client's protocol has no end in effect (``ending``, art. 8, 11).
    ``SELECT 1 WHERE NOT EXISTS (…)``: a row when it may, one read for both checks."""
    may: Select[Any] = select(literal_column("1").label("may"))
    if session:
        ended = select(IdpEndedSession.sid).where(IdpEndedSession.sid == bindparam("b_sid"))
        may = may.where(~ended.exists())
    if ending:
        in_effect = bindparam("b_now", type_=G.c.created_at.type)
        may = may.where(~ending_exists(bindparam("b_protocol_id"), in_effect))
    return may


_CODE_GUARDS = {
    (session, ending): HotStatement(_code_guard(session=session, ending=ending))
    for session in (False, True)
    for ending in (False, True)
    if session or ending
}


ACCESS_COLUMNS = (
    G.c.id,
    G.c.client_id,
    G.c.account_uuid,
    G.c.scope,
    G.c.auth_time,
    G.c.access_expires_at,
    G.c.revoked_at,
    G.c.code_used_at,
    G.c.created_at,
)
"""What ``access_grant_from_row`` reads."""
_FIND_ACCESS = HotStatement(
    select(*ACCESS_COLUMNS).where(G.c.access_token_hash == bindparam("b_hash"))
)


def new_token() -> str:
    """A fresh 256-bit random token, URL-safe."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """SHA-256 (hex) under which a code or token is stored and looked up."""
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


@dataclass(frozen=True)
class CodeGrant:
    """What a code was issued for, as its sealed value carries it."""

    grant_id: str
    client_id: str
    account_uuid: str
    scope: str
    nonce: str | None
    redirect_uri: str | None
    code_challenge: str | None
    sid: str | None
    auth_time: dt.datetime
    issued_at: dt.datetime
    expires_at: dt.datetime


def may_issue_code(
    conn: Connection,
    *,
    now: dt.datetime,
    unless_session_ended: str | None = None,
    unless_protocol_ended: str | None = None,
) -> bool:
    """False when the SSO session ``unless_session_ended`` was ended by a logout, or when
    the protocol ``unless_protocol_ended`` has an end in effect by ``now`` (art. 8, 11);
    one read, none when neither is asked."""
    guards = (unless_session_ended is not None, unless_protocol_ended is not None)
    if not any(guards):
        return True
    params: dict[str, Any] = {}
    if unless_session_ended is not None:
        params["b_sid"] = unless_session_ended
    if unless_protocol_ended is not None:
        params |= {"b_protocol_id": unless_protocol_ended, "b_now": now}
    return _CODE_GUARDS[guards](conn, params).first() is not None


def revoke_grant_tokens(conn: Connection, grant_id: str, now: dt.datetime) -> None:
    """RFC 6749 §4.1.2: a code used twice revokes the tokens issued from it (and its family)."""
    row = conn.execute(
        update(G).where(G.c.id == grant_id).values(revoked_at=now).returning(G.c.family_id)
    ).first()
    if row is not None and row.family_id is not None:
        revoke_family(conn, row.family_id, now)


def revoke_family(conn: Connection, family_id: str, now: dt.datetime) -> None:
    """Revoke every refresh token and access token of a refresh family."""
    conn.execute(
        update(R).where(R.c.family_id == family_id, R.c.revoked_at.is_(None)).values(revoked_at=now)
    )
    conn.execute(
        update(G).where(G.c.family_id == family_id, G.c.revoked_at.is_(None)).values(revoked_at=now)
    )


@dataclass(frozen=True)
class AccessGrant:
    """A live access token's grant."""

    grant_id: str
    client_id: str
    account_uuid: str
    scope: str
    auth_time: dt.datetime
    expires_at: dt.datetime
    issued_at: dt.datetime


def find_access_token(conn: Connection, token: str, now: dt.datetime) -> AccessGrant | None:
    """The grant of a live (not expired, not revoked) access token, or None."""
    return access_grant_from_row(_FIND_ACCESS(conn, {"b_hash": token_hash(token)}).first(), now)


def access_grant_from_row(row: Any, now: dt.datetime) -> AccessGrant | None:
    """The grant of a row of ``ACCESS_COLUMNS`` if the token is live, else None."""
    if row is None or row.revoked_at is not None:
        return None
    expires = _aware(row.access_expires_at)
    if expires is None or expires <= now:
        return None
    return AccessGrant(
        grant_id=row.id,
        client_id=row.client_id,
        account_uuid=row.account_uuid,
        scope=row.scope,
        auth_time=_aware(row.auth_time) or now,
        expires_at=expires,
        issued_at=_aware(row.code_used_at) or _aware(row.created_at) or now,
    )


def revoke_access_token(conn: Connection, token: str, client_id: str, now: dt.datetime) -> None:
    """RFC 7009 §2.1: revoke an access token of ``client_id`` (no effect on others' tokens)."""
    conn.execute(
        update(G)
        .where(
            G.c.access_token_hash == token_hash(token),
            G.c.client_id == client_id,
            G.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )


@dataclass(frozen=True)
class RefreshGrant:
    """A refresh token's row."""

    family_id: str
    client_id: str
    account_uuid: str
    scope: str
    auth_time: dt.datetime
    expires_at: dt.datetime
    used: bool
    revoked: bool


def find_refresh_token(conn: Connection, token: str) -> RefreshGrant | None:
    """The row of a refresh token, live or not, or None when unknown."""
    row = conn.execute(select(R).where(R.c.token_hash == token_hash(token))).first()
    if row is None:
        return None
    return RefreshGrant(
        family_id=row.family_id,
        client_id=row.client_id,
        account_uuid=row.account_uuid,
        scope=row.scope,
        auth_time=_aware(row.auth_time) or dt.datetime.now(dt.UTC),
        expires_at=_aware(row.expires_at) or dt.datetime.now(dt.UTC),
        used=row.used_at is not None,
        revoked=row.revoked_at is not None,
    )


def revoke_refresh_token(conn: Connection, token: str, client_id: str, now: dt.datetime) -> None:
    """RFC 7009 §2.1: revoking a refresh token revokes its family's tokens too."""
    row = conn.execute(
        select(R.c.family_id).where(R.c.token_hash == token_hash(token), R.c.client_id == client_id)
    ).first()
    if row is not None:
        revoke_family(conn, row.family_id, now)


def grant_with_pupil(columns: Any, key: Any, protocol: Any) -> dict[str, HotStatement]:
    """Art. 5 with the grant: ``columns`` of the grant whose ``key`` column equals
    ``:b_hash``, and the pupil it is about (fetched now), in one statement per dialect;
    art. 8, 11: with ``protocol_ended``, whether the protocol ``protocol`` (an SQL
    expression) has a recorded end, read by the same statement."""
    joined = joined_to_pupil(G, G.c.account_uuid)
    ended = ending_exists(protocol).label("protocol_ended")
    return {
        dialect: HotStatement(
            select(*columns, ended, *pupil_columns(aggregate))
            .select_from(joined)
            .where(key == bindparam("b_hash"))
        )
        for dialect, aggregate in (("postgresql", "string_agg"), ("sqlite", "group_concat"))
    }


def code_use_with_pupil() -> dict[str, HotStatement]:
    """A code's redemption reads, in one statement per dialect: whether its grant ``:b_id``
    was redeemed before (``used``, RFC 6749 §4.1.2), whether the protocol ``:b_protocol_id``
    has a recorded end (``protocol_ended``, art. 8, 11), and (art. 5) the pupil behind the
    account ``:b_account``, fetched now (NULLs when the account is unknown)."""
    one = select(literal_column("1").label("one")).subquery("one")
    joined = joined_to_pupil(one, bindparam("b_account", type_=G.c.account_uuid.type))
    used = select(G.c.id).where(G.c.id == bindparam("b_id")).exists().label("used")
    ended = ending_exists(bindparam("b_protocol_id")).label("protocol_ended")
    return {
        dialect: HotStatement(select(used, ended, *pupil_columns(aggregate)).select_from(joined))
        for dialect, aggregate in (("postgresql", "string_agg"), ("sqlite", "group_concat"))
    }


def client_protocol() -> Any:
    """The protocol of the grant's client as stored (``idp_client.protocol_id``)."""
    return (
        select(IdpClient.protocol_id)
        .where(IdpClient.client_id == G.c.client_id)
        .correlate(G)
        .scalar_subquery()
    )
