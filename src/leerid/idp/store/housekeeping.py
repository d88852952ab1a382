"""Deleting what the provider no longer needs: expired codes and tokens, seen ``jti`` values
and ended sessions, in small batches so that logins never wait behind a long lock.

A grant row (code, then access token) is kept while its code or access token could still
be presented, and while a refresh token of its family lives, so that the reuse of a code
can still revoke what it issued (RFC 6749 §4.1.2, §10.5). A refresh token is kept until it
expires, so that the reuse of a rotated one is still recognised (RFC 6749 §10.4). A
client assertion's ``jti`` is kept until the assertion expires (RFC 7523 §3), an ended
session until its cookie would have expired. The disclosure log is not touched: it is the
Department's record of what was released (protocol art. 6).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from sqlalchemy import ColumnElement, Engine, Table, and_, delete, exists, func, or_, select

from leerid.idp.store.models import IdpAssertionJti, IdpEndedSession, IdpGrant, IdpRefreshToken

BATCH = 1000
"""Rows per transaction: a short lock, as for the service provider's retention (art. 3)."""

G = cast(Table, IdpGrant.__table__)
R = cast(Table, IdpRefreshToken.__table__)
J = cast(Table, IdpAssertionJti.__table__)
E = cast(Table, IdpEndedSession.__table__)


@dataclass(frozen=True)
class PurgeCounts:
    """Rows deleted (or, in a dry run, that would be), per kind, and transactions used."""

    grants: int
    refresh_tokens: int
    assertion_jtis: int
    ended_sessions: int
    transactions: int

    @property
    def total(self) -> int:
        return self.grants + self.refresh_tokens + self.assertion_jtis + self.ended_sessions


def _expired_grants(now: dt.datetime) -> ColumnElement[bool]:
    live_refresh = exists().where(R.c.family_id == G.c.family_id, R.c.expires_at >= now)
    return and_(
        or_(G.c.code_expires_at.is_(None), G.c.code_expires_at < now),
        or_(G.c.access_expires_at.is_(None), G.c.access_expires_at < now),
        or_(G.c.family_id.is_(None), ~live_refresh),
    )


Condition = Callable[[dt.datetime], ColumnElement[bool]]

_KINDS: tuple[tuple[str, Table, str, Condition], ...] = (
    ("grants", G, "id", _expired_grants),
    ("refresh_tokens", R, "token_hash", lambda now: R.c.expires_at < now),
    ("assertion_jtis", J, "key", lambda now: J.c.expires_at < now),
    ("ended_sessions", E, "sid", lambda now: E.c.expires_at < now),
)


def purge_expired(
    engine: Engine, now: dt.datetime | None = None, *, batch: int = BATCH, dry_run: bool = False
) -> PurgeCounts:
    """Delete every expired row, at most ``batch`` rows per transaction."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    now = now or dt.datetime.now(dt.UTC)
    counts: dict[str, int] = {}
    transactions = 0
    for name, table, key, condition in _KINDS:
        where = condition(now)
        column = table.c[key]
        if dry_run:
            with engine.connect() as conn:
                counts[name] = int(
                    conn.scalar(select(func.count()).select_from(table).where(where)) or 0
                )
            continue
        deleted = 0
        while True:
            with engine.begin() as conn:
                keys = list(conn.scalars(select(column).where(where).limit(batch)))
                if keys:
                    conn.execute(delete(table).where(column.in_(keys)))
            transactions += 1
            deleted += len(keys)
            if len(keys) < batch:
                break
        counts[name] = deleted
    return PurgeCounts(transactions=transactions, **counts)
