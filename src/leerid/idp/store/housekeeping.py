"""Deleting what the provider no longer needs, per record kind after its retention period
(``log_retention.py``), in small batches so that logins never wait behind a long lock.

A grant row (a redeemed code's access token) is kept while its code could still be presented
(its 30 s and the ``CODE_REUSE_WINDOW`` after, whatever the retention says: without the row a
replayed sealed code would be redeemed again), while its access token could, and while a
refresh token of its family lives, so that the reuse of a code can still revoke what it
issued (RFC 6749 §4.1.2, §10.5). A refresh token is kept until it
expires, so that the reuse of a rotated one is still recognised (RFC 6749 §10.4). A
client assertion's ``jti`` is kept until the assertion expires (RFC 7523 §3), an ended
session until its cookie would have expired. The disclosure log keeps each release as long
as the recipient may hold what it received (art. 3, art. 6), each refusal a year; activation
codes a month after they expire; throttle counters one window after the last failure.
Each batch is one short transaction of at most ``BATCH`` rows, found by an index range and
deleted by key with its condition checked again (a row that came back to use stays).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import cast

from sqlalchemy import ColumnElement, Engine, Table, and_, delete, exists, func, or_, select

from leerid.idp.login.throttle import ThrottlePolicy
from leerid.idp.store.grants import CODE_REUSE_WINDOW
from leerid.idp.store.log_retention import LogRetention
from leerid.idp.store.login_tables import ActivationCodeRow, LoginThrottleRow
from leerid.idp.store.models import (
    Disclosure,
    IdpAssertionJti,
    IdpEndedSession,
    IdpGrant,
    IdpRefreshToken,
)
from leerid.store.attempts import spent

BATCH = 1000
"""Rows per transaction: a short lock, as for the service provider's retention (art. 3)."""

G = cast(Table, IdpGrant.__table__)
R = cast(Table, IdpRefreshToken.__table__)
J = cast(Table, IdpAssertionJti.__table__)
E = cast(Table, IdpEndedSession.__table__)
D = cast(Table, Disclosure.__table__)
A = cast(Table, ActivationCodeRow.__table__)
T = cast(Table, LoginThrottleRow.__table__)


@dataclass(frozen=True)
class PurgeCounts:
    """Rows deleted (or, in a dry run, that would be), per kind, and transactions used."""

    grants: int
    refresh_tokens: int
    assertion_jtis: int
    ended_sessions: int
    disclosures: int = 0
    refusals: int = 0
    activation_codes: int = 0
    login_throttle: int = 0
    transactions: int = 0

    @property
    def total(self) -> int:
        return sum(v for k, v in asdict(self).items() if k != "transactions")

    def as_json(self) -> dict[str, int]:
        return {**asdict(self), "total": self.total}


def _expired_grants(now: dt.datetime, keep: LogRetention) -> ColumnElement[bool]:
    at = keep.grants.before(now)
    # a sealed code still opens CODE_REUSE_WINDOW after its expiry: its row must outlive
    # that, or a replay would find no row and be redeemed again (RFC 6749 §4.1.2)
    replayable = min(at, now - dt.timedelta(seconds=CODE_REUSE_WINDOW))
    live_refresh = exists().where(R.c.family_id == G.c.family_id, R.c.expires_at >= at)
    return and_(
        or_(G.c.code_expires_at.is_(None), G.c.code_expires_at < replayable),
        or_(G.c.access_expires_at.is_(None), G.c.access_expires_at < at),
        or_(G.c.family_id.is_(None), ~live_refresh),
    )


def _logged(outcome: str, period: str) -> Condition:
    def condition(now: dt.datetime, keep: LogRetention) -> ColumnElement[bool]:
        return and_(D.c.outcome == outcome, D.c.at < getattr(keep, period).before(now))

    return condition


def _throttle(now: dt.datetime, keep: LogRetention) -> ColumnElement[bool]:
    window = now - keep.login_throttle.before(now)
    return spent(T, now, max(window, ThrottlePolicy().window))


Condition = Callable[[dt.datetime, LogRetention], ColumnElement[bool]]

_KINDS: tuple[tuple[str, Table, str, Condition], ...] = (
    ("grants", G, "id", _expired_grants),
    (
        "refresh_tokens",
        R,
        "token_hash",
        lambda now, k: R.c.expires_at < k.refresh_tokens.before(now),
    ),
    ("assertion_jtis", J, "key", lambda now, k: J.c.expires_at < k.assertion_jtis.before(now)),
    ("ended_sessions", E, "sid", lambda now, k: E.c.expires_at < k.ended_sessions.before(now)),
    ("disclosures", D, "id", _logged("released", "disclosures")),
    ("refusals", D, "id", _logged("refused", "refusals")),
    (
        "activation_codes",
        A,
        "account_uuid",
        lambda now, k: A.c.expires_at < k.activation_codes.before(now),
    ),
    ("login_throttle", T, "key", _throttle),
)


def purge_expired(
    engine: Engine,
    now: dt.datetime | None = None,
    *,
    batch: int = BATCH,
    dry_run: bool = False,
    retention: LogRetention | None = None,
) -> PurgeCounts:
    """Delete every row past its kind's retention, at most ``batch`` rows per transaction."""
    if not 1 <= batch <= BATCH:
        raise ValueError(f"batch must be 1 to {BATCH}")
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)  # SQLite keeps no offset
    keep = retention or LogRetention()
    counts: dict[str, int] = {}
    transactions = 0
    for name, table, key, condition in _KINDS:
        where = condition(now, keep)
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
                if keys:  # the condition again: a row taken back into use meanwhile stays
                    done = conn.execute(delete(table).where(column.in_(keys), where))
                    deleted += done.rowcount
            transactions += 1
            if len(keys) < batch:
                break
        counts[name] = deleted
    return PurgeCounts(transactions=transactions, **counts)
