"""The token endpoint's writes: a code redeemed or a refresh token consumed, tokens stored,
disclosed.

All or nothing (RFC 6749 §4.1.2 and §10.5: a code is single use; OAuth 2.0 Security BCP
§4.14.2: refresh tokens are single use and rotated). The disclosure record and its
transparency-log entry (issue 12 §1) are written with the tokens, through ``exchange_code`` /
``rotate_refresh_token`` only. On PostgreSQL an exchange without a refresh token is one
atomic statement in autocommit (the private fast path, ``_redeem_and_record``); everywhere
else it is one transaction.

Fail closed (issue 12 §1): when the entry cannot be appended the whole write rolls back,
``LogAppendError`` is raised and nothing is released. The code (or refresh token) stays
unused, so the client may present it again once the log accepts entries: RFC 6749 §4.1.2
forbids a second *use*, and a rolled-back exchange was none.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Engine,
    Executable,
    Insert,
    Table,
    bindparam,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from leerid.idp.store._fast_path import HotStatement
from leerid.idp.store.disclosures import DisclosureEntry, entry_params, insert_disclosure
from leerid.idp.store.grants import CodeGrant, G, R, RefreshGrant, token_hash
from leerid.idp.store.models import Disclosure
from leerid.idp.store.tlog.append import fail_closed
from leerid.idp.store.tlog.tables import TlogEntry

__all__ = ["CodeExchange", "RefreshRotation", "exchange_code", "rotate_refresh_token"]

_REDEEMED = (
    "id",
    "client_id",
    "account_uuid",
    "scope",
    "sid",
    "auth_time",
    "created_at",
    "code_expires_at",
    "code_used_at",
    "access_token_hash",
    "access_expires_at",
    "family_id",
)
"""The grant row a code's redemption inserts (``_redeem_params`` gives the values)."""


def _redeem_code(dialect_insert: Any) -> Any:
    """RFC 6749 §4.1.2, §10.5: the code's grant row with its access token, under the grant id
    the code carries; ``ON CONFLICT (id) DO NOTHING``: a code redeemed before inserts
    nothing (no error, so that the statement it is part of writes nothing either)."""
    values = {name: bindparam(f"b_{name}", type_=G.c[name].type) for name in _REDEEMED}
    return dialect_insert(G).values(values).on_conflict_do_nothing(index_elements=[G.c.id])


_REDEEM_CODE = {
    "postgresql": HotStatement(_redeem_code(postgresql.insert)),
    "sqlite": HotStatement(_redeem_code(sqlite.insert)),
}


class _RacedError(Exception):
    """Another request consumed the code or refresh token first: roll back."""


@dataclass(frozen=True)
class CodeExchange:
    """What a code becomes: an access token, and a refresh token with ``offline_access``."""

    access_token: str
    access_expires_at: dt.datetime
    refresh_token: str | None
    family_id: str | None
    refresh_lifetime: int
    now: dt.datetime


@dataclass(frozen=True)
class RefreshRotation:
    """A refresh grant: the presented token is used up, a new one and an access token stored."""

    presented: str
    new_refresh_token: str
    access_token: str
    access_expires_at: dt.datetime
    scope: str
    refresh_lifetime: int
    now: dt.datetime


def exchange_code(
    conn: Connection,
    engine: Engine,
    grant: CodeGrant,
    exchange: CodeExchange,
    disclosure: DisclosureEntry,
    secret: bytes,
) -> bytes | None:
    """Redeem the code (its grant row with the access token), store a refresh token, the
    disclosure record and its log entry: all or nothing. The entry's leaf hash; None when
    the code was redeemed before (then nothing is written); ``LogAppendError`` when the log
    refused the entry (nothing either).

    ``conn`` is an autocommit connection (the PostgreSQL fast path runs on it), ``engine``
    gives the transaction otherwise; ``secret`` keys the pupil's pseudonym (``pupil_secret``).
    """
    if exchange.refresh_token is None and conn.dialect.name == "postgresql":
        with fail_closed("the token exchange"):  # one statement: the entry's fails it all
            return _redeem_recording(conn, grant, exchange, disclosure, secret)
    return _exchange_in_transaction(engine, grant, exchange, disclosure, secret)


def _exchange_in_transaction(
    engine: Engine,
    grant: CodeGrant,
    exchange: CodeExchange,
    disclosure: DisclosureEntry,
    secret: bytes,
) -> bytes | None:
    """``exchange_code`` as one transaction (SQLite, or a code that gives a refresh token)."""
    try:
        with engine.begin() as tx:
            if not _redeem(tx, grant, exchange):
                raise _RacedError()
            if exchange.refresh_token is not None and exchange.family_id is not None:
                _store_refresh_token(
                    tx,
                    refresh_token=exchange.refresh_token,
                    family_id=exchange.family_id,
                    client_id=grant.client_id,
                    account_uuid=grant.account_uuid,
                    scope=grant.scope,
                    auth_time=grant.auth_time,
                    lifetime=exchange.refresh_lifetime,
                    now=exchange.now,
                )
            with fail_closed("the token exchange"):
                return insert_disclosure(tx, disclosure, secret)
    except _RacedError:
        return None


def rotate_refresh_token(
    engine: Engine,
    found: RefreshGrant,
    rotation: RefreshRotation,
    disclosure: DisclosureEntry,
    secret: bytes,
) -> bytes | None:
    """RFC 6749 §6: use up the presented token, store the next one of its family, a new
    access token, the disclosure record and its log entry, in one transaction. The entry's
    leaf hash; None when the token was used or revoked meanwhile (then nothing is written);
    ``LogAppendError`` when the log refused the entry (nothing either)."""
    now = rotation.now
    try:
        with engine.begin() as conn:
            if not _consume_refresh_token(conn, rotation.presented, now):
                raise _RacedError()
            _store_refresh_token(
                conn,
                refresh_token=rotation.new_refresh_token,
                family_id=found.family_id,
                client_id=found.client_id,
                account_uuid=found.account_uuid,
                scope=found.scope,
                auth_time=found.auth_time,
                lifetime=rotation.refresh_lifetime,
                now=now,
            )
            _insert_access_token(
                conn,
                access_token=rotation.access_token,
                client_id=found.client_id,
                account_uuid=found.account_uuid,
                scope=rotation.scope,
                auth_time=found.auth_time,
                family_id=found.family_id,
                expires_at=rotation.access_expires_at,
                now=now,
            )
            with fail_closed("the refresh token rotation"):
                return insert_disclosure(conn, disclosure, secret)
    except _RacedError:
        return None


def _from_redeemed(table: Table, redeemed: Any, names: list[str], prefix: str) -> Insert:
    """``INSERT INTO table (names) SELECT :prefix_name… FROM redeemed``: a row only when the
    code was redeemed."""
    rows = select(
        *[bindparam(f"{prefix}{name}", type_=table.c[name].type).label(name) for name in names]
    ).select_from(redeemed)
    return insert(table).from_select(names, rows)


def _redeem_and_record() -> Executable:
    """PostgreSQL: redeem the code, write the disclosure record and its log entry in one
    statement.

    ``WITH redeemed AS (INSERT INTO idp_grant … ON CONFLICT (id) DO NOTHING RETURNING id),
    entry AS (INSERT INTO idp_tlog_entry SELECT … FROM redeemed) INSERT INTO idp_disclosure
    SELECT … FROM redeemed``: one atomic statement in autocommit, no BEGIN/COMMIT round trips
    (a data-modifying WITH runs to completion whether or not the main statement reads it);
    when the code was redeemed already nothing is inserted at all; when the entry is refused
    nothing is written at all.
    """
    redeemed = (
        _REDEEM_CODE["postgresql"].statement.returning(G.c.id).cte("redeemed")  # type: ignore[attr-defined]
    )
    table = cast(Table, Disclosure.__table__)
    names = [c.name for c in table.columns if c.name != "id"]
    entry = _from_redeemed(cast(Table, TlogEntry.__table__), redeemed, ["leaf_hash", "body"], "e_")
    record = _from_redeemed(table, redeemed, names, "d_")
    return record.add_cte(redeemed, entry.cte("entry"))


_REDEEM_AND_RECORD = HotStatement(_redeem_and_record())


def _redeem_params(grant: CodeGrant, exchange: CodeExchange) -> dict[str, Any]:
    values = {
        "id": grant.grant_id,
        "client_id": grant.client_id,
        "account_uuid": grant.account_uuid,
        "scope": grant.scope,
        "sid": grant.sid,
        "auth_time": grant.auth_time,
        "created_at": grant.issued_at,
        "code_expires_at": grant.expires_at,
        "code_used_at": exchange.now,
        "access_token_hash": token_hash(exchange.access_token),
        "access_expires_at": exchange.access_expires_at,
        "family_id": exchange.family_id,
    }
    return {f"b_{name}": values[name] for name in _REDEEMED}


def _redeem(conn: Connection, grant: CodeGrant, exchange: CodeExchange) -> bool:
    """Insert the code's grant row with its access token (one INSERT).

    False when the code was redeemed before (the caller then answers invalid_grant).
    """
    statement = _REDEEM_CODE[conn.dialect.name]
    return bool(statement(conn, _redeem_params(grant, exchange)).rowcount)


def _redeem_recording(
    conn: Connection,
    grant: CodeGrant,
    exchange: CodeExchange,
    disclosure: DisclosureEntry,
    secret: bytes,
) -> bytes | None:
    """``_redeem``, the disclosure record and its entry as one statement (PostgreSQL
    only): the entry's leaf hash, or None when the code was redeemed already."""
    rows = disclosure.rows(secret)
    params = _redeem_params(grant, exchange)
    params.update({f"d_{name}": value for name, value in rows.record.items()})
    params.update(entry_params(rows))
    return rows.leaf if _REDEEM_AND_RECORD(conn, params).rowcount else None


def _insert_access_token(
    conn: Connection,
    *,
    access_token: str,
    client_id: str,
    account_uuid: str,
    scope: str,
    auth_time: dt.datetime,
    family_id: str | None,
    expires_at: dt.datetime,
    now: dt.datetime,
) -> None:
    """Store an access token that did not come from a code (refresh grant)."""
    conn.execute(
        insert(G).values(
            id=secrets.token_hex(16),
            access_token_hash=token_hash(access_token),
            family_id=family_id,
            client_id=client_id,
            account_uuid=account_uuid,
            scope=scope,
            auth_time=auth_time,
            created_at=now,
            access_expires_at=expires_at,
        )
    )


def _store_refresh_token(
    conn: Connection,
    *,
    refresh_token: str,
    family_id: str,
    client_id: str,
    account_uuid: str,
    scope: str,
    auth_time: dt.datetime,
    lifetime: int,
    now: dt.datetime,
) -> None:
    """Store a new refresh token of a family."""
    conn.execute(
        insert(R).values(
            token_hash=token_hash(refresh_token),
            family_id=family_id,
            client_id=client_id,
            account_uuid=account_uuid,
            scope=scope,
            auth_time=auth_time,
            created_at=now,
            expires_at=now + dt.timedelta(seconds=lifetime),
        )
    )


def _consume_refresh_token(conn: Connection, token: str, now: dt.datetime) -> bool:
    """Mark a refresh token used (single use); False when it was used or revoked already."""
    done = conn.execute(
        update(R)
        .where(R.c.token_hash == token_hash(token), R.c.used_at.is_(None), R.c.revoked_at.is_(None))
        .values(used_at=now)
    ).rowcount
    return bool(done)
