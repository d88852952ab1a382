"""The login throttle's counters, kept in the database so every worker and node agrees.

The rules are ``leerid.idp.login.throttle`` (plain functions over plain numbers); here
``LoginThrottle`` reads and writes the counters. Concurrency (issue 8 §5): ``admit``
reserves the attempt on the account's row in one statement before the secret is checked
(``leerid.store.attempts``), so a burst cannot get more guesses checked than the lock
allows. Hot path: one indexed read, the reservation (one row written) and its release after
a good password (the same row deleted).
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import anyio.to_thread
import sqlalchemy
from sqlalchemy import Row, bindparam, case, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from leerid.idp.login.throttle import (
    ACCOUNT,
    ADDRESS,
    ThrottlePolicy,
    ThrottleState,
    ThrottleVerdict,
    active_lock,
    after_failure,
    decide,
    throttle_key,
)
from leerid.idp.store._fast_path import HotResult, HotStatement
from leerid.idp.store.login_tables import LoginThrottleRow
from leerid.idp.store.server_secret import load_server_secret
from leerid.store import attempts

__all__ = ["LoginThrottle", "throttle_secret"]

T = TypeVar("T")


def throttle_secret(engine: sqlalchemy.Engine, configured: str = "") -> bytes:
    """``configured`` (``$LEERID_THROTTLE_SECRET``, read by ``IdpSettings``) if set, else a
    random secret kept in the database.

    Either way every worker and node uses the same one; without it an address could be
    found again from its key by trying every address.
    """
    return configured.encode() if configured else load_server_secret(engine, "login-throttle")


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


_COUNTERS = select(
    LoginThrottleRow.key,
    LoginThrottleRow.failures,
    LoginThrottleRow.last_failure_at,
    LoginThrottleRow.locked_until,
)


def _pick(column: Any, key: str) -> Any:
    """``column`` of the row whose key is bind parameter ``key`` (NULL when there is none)."""
    return func.max(case((LoginThrottleRow.key == bindparam(key), column)))


_BOTH_COUNTERS = HotStatement(
    select(
        *(
            _pick(column, key).label(f"{key}_{column.key}")
            for key in ("account", "address")
            for column in (
                LoginThrottleRow.failures,
                LoginThrottleRow.last_failure_at,
                LoginThrottleRow.locked_until,
            )
        )
    ).where(LoginThrottleRow.key.in_([bindparam("account"), bindparam("address")]))
)
"""The hot path's one read: both counters in one row, built once, run by ``HotStatement``
(compiled text on the psycopg connection on PostgreSQL) in autocommit (no BEGIN/ROLLBACK)."""


_HOT: dict[int, HotStatement] = {}
"""The statements of ``leerid.store.attempts`` (built once each) as prepared statements."""


def _run_hot(conn: sqlalchemy.Connection, statement: Any, params: dict[str, Any]) -> HotResult:
    """``attempts.Run`` on the hot path: a prepared statement on PostgreSQL, as the read."""
    hot = _HOT.get(id(statement))
    if hot is None:
        hot = _HOT[id(statement)] = HotStatement(statement)
    return hot(conn, params)


def _stored(failures: int | None, last: datetime | None, locked: datetime | None) -> ThrottleState:
    if not failures:
        return ThrottleState(locked_until=_aware(locked))
    return ThrottleState(failures, _aware(last), _aware(locked))


def _state(row: Row[str, int, datetime, datetime | None]) -> ThrottleState:
    """A stored counter as plain data (a fresh placeholder row has no failure yet)."""
    return ThrottleState(
        failures=row.failures,
        last_failure_at=_aware(row.last_failure_at) if row.failures else None,
        locked_until=_aware(row.locked_until),
    )


class LoginThrottle:
    """The throttle of one identity provider process, over the shared database.

    An attempt is admitted (``admit``: one read for delays and locks, then the atomic
    reservation of ``leerid.store.attempts``) before the secret is checked, and settled
    after it (``record_failure``, ``record_success`` or ``release``).
    """

    _PURGE_ONE_IN = 64
    _PURGE_BATCH = 500

    def __init__(
        self,
        engine: sqlalchemy.Engine,
        policy: ThrottlePolicy | None = None,
        *,
        secret: str = "",
        db_threads: bool = False,
    ) -> None:
        self.engine = engine
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.policy = policy or ThrottlePolicy()
        self._secret = throttle_secret(engine, secret)
        self._threads = db_threads

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        """As the provider's other database work (``IdpContext.run``): on the event loop by
        default (a loopback statement costs less than a hop to a thread), in threads with
        ``LEERID_DB_THREADS=1`` (a database across a network)."""
        if not self._threads:
            return fn(*args)
        return await anyio.to_thread.run_sync(functools.partial(fn, *args))

    def _now(self) -> datetime:
        return datetime.now(dt.UTC)

    def _keys(self, username: str, address: str) -> tuple[str, str]:
        return (
            throttle_key(self._secret, ACCOUNT, username),
            throttle_key(self._secret, ADDRESS, address),
        )

    def _read(self, account_key: str, address_key: str) -> tuple[ThrottleState, ThrottleState]:
        with self._reads.connect() as conn:
            return self._read_on(conn, account_key, address_key)

    def _read_on(
        self, conn: sqlalchemy.Connection, account_key: str, address_key: str
    ) -> tuple[ThrottleState, ThrottleState]:
        row = _BOTH_COUNTERS(conn, {"account": account_key, "address": address_key}).first()
        if row is None:
            return ThrottleState(), ThrottleState()
        return (
            _stored(row.account_failures, row.account_last_failure_at, row.account_locked_until),
            _stored(row.address_failures, row.address_last_failure_at, row.address_locked_until),
        )

    def check_sync(
        self, username: str, address: str, now: datetime | None = None
    ) -> ThrottleVerdict:
        """``check`` for callers outside the event loop."""
        now = now or self._now()
        account, address_state = self._read(*self._keys(username, address))
        return decide(account, address_state, now, self.policy)

    async def check(self, username: str, address: str) -> ThrottleVerdict:
        """The verdict of the stored counters: one read, no write, nothing reserved."""
        return await self._run(self.check_sync, username, address)

    def admit_sync(
        self, username: str, address: str, now: datetime | None = None
    ) -> ThrottleVerdict:
        """``admit`` for callers outside the event loop."""
        now = now or self._now()
        account_key, address_key = self._keys(username, address)
        with self._reads.connect() as conn:  # one connection: the read, then the reservation
            verdict = decide(*self._read_on(conn, account_key, address_key), now, self.policy)
            if not verdict.allowed:
                return verdict
            reserved = attempts.reserve(
                conn,
                LoginThrottleRow.__table__,  # type: ignore[arg-type]
                account_key,
                ACCOUNT,
                now,
                lock_after=self.policy.account_lock_after,
                window=self.policy.window,
                run=_run_hot,
            )
        if reserved:
            return verdict
        # Locked, or as many attempts in flight as the lock allows: issue 8 §5.
        account, _address = self._read(account_key, "")
        until = active_lock(account, now) or now + self.policy.lock_base
        return ThrottleVerdict(allowed=False, delay=verdict.delay, retry_after=until)

    async def admit(self, username: str, address: str) -> ThrottleVerdict:
        """May this attempt go ahead, and after what delay? If so, it is reserved.

        Issue 8 §5: the reservation is one statement, made before the secret is checked, so
        at most ``account_lock_after`` secrets per account are checked however many attempts
        arrive at once. Every admitted attempt must be settled by ``record_failure``,
        ``record_success`` or ``release``.
        """
        return await self._run(self.admit_sync, username, address)

    def _upsert_placeholder(
        self, conn: sqlalchemy.Connection, key: str, scope: str, now: datetime
    ) -> None:
        values = {"key": key, "scope": scope, "failures": 0, "last_failure_at": now}
        if conn.dialect.name == "postgresql":
            conn.execute(
                postgresql.insert(LoginThrottleRow).values(**values).on_conflict_do_nothing()
            )
        elif conn.dialect.name == "sqlite":
            conn.execute(sqlite.insert(LoginThrottleRow).values(**values).on_conflict_do_nothing())
        else:  # pragma: no cover - leerid supports SQLite and PostgreSQL only
            conn.execute(insert(LoginThrottleRow).values(**values))

    def record_failure_sync(self, username: str, address: str, now: datetime | None = None) -> None:
        """``record_failure`` for callers outside the event loop."""
        now = now or self._now()
        account_key, address_key = self._keys(username, address)
        scopes = {account_key: ACCOUNT, address_key: ADDRESS}
        table = LoginThrottleRow.__table__
        with self.engine.begin() as conn:
            for key in sorted(scopes):  # one lock order on every node: no deadlocks
                self._upsert_placeholder(conn, key, scopes[key], now)
            rows = conn.execute(
                _COUNTERS.where(LoginThrottleRow.key.in_(sorted(scopes)))
                .order_by(LoginThrottleRow.key)
                .with_for_update()
            ).all()
            for row in rows:
                new = after_failure(_state(row), scopes[row.key], now, self.policy)
                settled = {"pending": attempts.one_less_pending(table)}  # type: ignore[arg-type]
                conn.execute(
                    update(LoginThrottleRow)
                    .where(LoginThrottleRow.key == row.key)
                    .values(
                        failures=new.failures,
                        last_failure_at=new.last_failure_at,
                        locked_until=new.locked_until,
                        **(settled if row.key == account_key else {}),
                    )
                )
        if secrets.randbelow(self._PURGE_ONE_IN) == 0:
            self.purge_expired(now)

    async def record_failure(self, username: str, address: str) -> None:
        """Settle an admitted attempt as failed: counted against the username and the address."""
        await self._run(self.record_failure_sync, username, address)

    def _release_sync(self, username: str, success: bool) -> None:
        """One statement on an autocommit connection (two when the row stays): a transaction
        would add BEGIN and COMMIT round trips and guard nothing, as each statement settles
        the attempt alone (the DELETE's and the UPDATE's conditions hold at their moment)."""
        account_key = throttle_key(self._secret, ACCOUNT, username)
        with self._reads.connect() as conn:
            attempts.release(
                conn,
                LoginThrottleRow.__table__,  # type: ignore[arg-type]
                account_key,
                self._now(),
                success=success,
                run=_run_hot,
            )

    def record_success_sync(self, username: str, address: str) -> None:
        """``record_success`` for callers outside the event loop."""
        self._release_sync(username, success=True)

    async def record_success(self, username: str, address: str) -> None:
        """Settle an admitted attempt as succeeded: the account's settled failures are
        cleared (never the address's); other attempts still in flight stay counted."""
        await self._run(self._release_sync, username, True)

    async def release(self, username: str) -> None:
        """Settle an admitted attempt that neither failed nor succeeded (e.g. an expired
        activation code): it stops counting as in flight, nothing else changes."""
        await self._run(self._release_sync, username, False)

    def purge_expired(self, now: datetime | None = None) -> int:
        """Forget rows one window after their last failure, without a running lock or an
        attempt in flight.

        Deletes in small batches so that it never holds locks long.
        """
        now = now or self._now()
        with self.engine.begin() as conn:
            return attempts.purge(
                conn,
                LoginThrottleRow.__table__,  # type: ignore[arg-type]
                now,
                window=self.policy.window,
                limit=self._PURGE_BATCH,
            )
