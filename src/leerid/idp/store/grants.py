"""Codes, access tokens and refresh tokens in the database (SQLAlchemy Core, hashed secrets).

RFC 6749 §4.1.2 and §10.5: a code is single use, short-lived (30 s) and bound to the client,
the redirect URI and the PKCE challenge; when a code is used twice the tokens issued from it
are revoked. The grant row holding the code becomes the row of the access token: the
exchange is one UPDATE. Access and refresh tokens are random 256-bit strings of which only
the SHA-256 is stored, so a copy of the database yields no usable token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Executable, Table, bindparam, insert, select, update

from leerid.idp.store._fast_path import HotStatement
from leerid.idp.store.endings import ending_exists
from leerid.idp.store.models import IdpClient, IdpEndedSession, IdpGrant, IdpRefreshToken
from leerid.idp.store.pupils import joined_to_pupil, pupil_columns

__all__ = [
    "AccessGrant",
    "CodeGrant",
    "find_access_token",
    "insert_code",
    "new_token",
    "revoke_access_token",
    "revoke_refresh_token",
    "token_hash",
]

G = cast(Table, IdpGrant.__table__)
R = cast(Table, IdpRefreshToken.__table__)

# The hot path's statements, built once (bind parameters per call).
_INSERT_GRANT = HotStatement(insert(G))


def _insert_code_guarded(*, session: bool, ending: bool) -> Executable:
    """The code's INSERT, done only when its SSO session was not ended by a logout
    (``session``) and the client's protocol has no end in effect (``ending``, art. 8, 11):
    ``INSERT … SELECT :values WHERE NOT EXISTS (…)``, one statement for the checks and
    the write."""
    names = [
        "id",
        "code_hash",
        "client_id",
        "account_uuid",
        "scope",
        "nonce",
        "redirect_uri",
        "code_challenge",
        "sid",
        "auth_time",
        "created_at",
        "code_expires_at",
    ]
    values = select(*[bindparam(n, type_=G.c[n].type).label(n) for n in names])
    if session:
        ended = select(IdpEndedSession.sid).where(IdpEndedSession.sid == bindparam("sid"))
        values = values.where(~ended.exists())
    if ending:
        in_effect = bindparam("created_at", type_=G.c.created_at.type)
        values = values.where(~ending_exists(bindparam("b_protocol_id"), in_effect))
    return insert(G).from_select(names, values)


_INSERT_CODE_GUARDED = {
    (session, ending): HotStatement(_insert_code_guarded(session=session, ending=ending))
    for session in (False, True)
    for ending in (False, True)
    if session or ending
}


CODE_COLUMNS = tuple(
    G.c[name]
    for name in (
        "id",
        "client_id",
        "account_uuid",
        "scope",
        "nonce",
        "redirect_uri",
        "code_challenge",
        "sid",
        "auth_time",
        "family_id",
        "code_expires_at",
        "code_used_at",
    )
)
"""What ``code_grant_from_row`` reads."""
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
    """What a code was issued for."""

    grant_id: str
    client_id: str
    account_uuid: str
    scope: str
    nonce: str | None
    redirect_uri: str | None
    code_challenge: str | None
    sid: str | None
    auth_time: dt.datetime
    family_id: str | None


def insert_code(
    conn: Connection,
    *,
    code: str,
    client_id: str,
    account_uuid: str,
    scope: str,
    nonce: str | None,
    redirect_uri: str,
    code_challenge: str | None,
    sid: str,
    auth_time: dt.datetime,
    lifetime: int,
    now: dt.datetime,
    unless_session_ended: bool = False,
    unless_protocol_ended: str | None = None,
) -> bool:
    """Store a new code (one INSERT); False when ``unless_session_ended`` and the SSO
    session ``sid`` was ended by a logout, or when the protocol ``unless_protocol_ended``
    has an end in effect by ``now`` (art. 8, 11); then nothing is stored."""
    guards = (unless_session_ended, unless_protocol_ended is not None)
    statement = _INSERT_CODE_GUARDED[guards] if any(guards) else _INSERT_GRANT
    params: dict[str, Any] = (
        {} if unless_protocol_ended is None else {"b_protocol_id": unless_protocol_ended}
    )
    return bool(
        statement(
            conn,
            params
            | {
                "id": secrets.token_hex(16),
                "code_hash": token_hash(code),
                "client_id": client_id,
                "account_uuid": account_uuid,
                "scope": scope,
                "nonce": nonce,
                "redirect_uri": redirect_uri,
                "code_challenge": code_challenge,
                "sid": sid,
                "auth_time": auth_time,
                "created_at": now,
                "code_expires_at": now + dt.timedelta(seconds=lifetime),
            },
        ).rowcount
    )


def code_grant_from_row(row: Any) -> tuple[CodeGrant, dt.datetime, bool] | None:
    """The grant, expiry and used flag of a row with the columns of ``idp_grant``."""
    if row is None:
        return None
    grant = CodeGrant(
        grant_id=row.id,
        client_id=row.client_id,
        account_uuid=row.account_uuid,
        scope=row.scope,
        nonce=row.nonce,
        redirect_uri=row.redirect_uri,
        code_challenge=row.code_challenge,
        sid=row.sid,
        auth_time=_aware(row.auth_time) or dt.datetime.now(dt.UTC),
        family_id=row.family_id,
    )
    return grant, _aware(row.code_expires_at) or grant.auth_time, row.code_used_at is not None


def revoke_grant_tokens(conn: Connection, grant: CodeGrant, now: dt.datetime) -> None:
    """RFC 6749 §4.1.2: a code used twice revokes the tokens issued from it (and its family)."""
    conn.execute(update(G).where(G.c.id == grant.grant_id).values(revoked_at=now))
    if grant.family_id is not None:
        revoke_family(conn, grant.family_id, now)


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


def client_protocol() -> Any:
    """The protocol of the grant's client as stored (``idp_client.protocol_id``)."""
    return (
        select(IdpClient.protocol_id)
        .where(IdpClient.client_id == G.c.client_id)
        .correlate(G)
        .scalar_subquery()
    )
