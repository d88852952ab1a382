"""Brute-force protection for password logins: growing delays and temporary locks.

Issue 4 §4: per-account and per-address throttling with growing delays, a temporary lock
after repeated failures, and the same answer for unknown usernames. The rules are plain
functions over plain numbers (``failure_delay``, ``lock_duration``, ``decide``,
``after_failure``); ``LoginThrottle`` keeps the counters in the database so that every
worker and every node sees the same state.

No enumeration: the counters are keyed by the *submitted* username, whether or not it
exists, so an unknown username is delayed and locked exactly like a known one.

Privacy: neither usernames nor addresses are stored or logged in clear; a row is keyed by
an HMAC-SHA-256 of the scope and the normalised value, and is forgotten one window after
its last failure.

Concurrency (issue 8 §5): ``admit`` reserves the attempt on the account's row in one
statement before the secret is checked (``leerid.store.attempts``), so a burst cannot get
more guesses checked than the lock allows. Hot path: one indexed read, the reservation (one
row written) and its release after a good password (the same row deleted).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import ipaddress
import os
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import anyio.to_thread
import sqlalchemy
from sqlalchemy import Row, bindparam, case, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from leerid.errors import ConfigurationError
from leerid.idp.store._fast_path import HotStatement
from leerid.idp.store.login_tables import LoginThrottleRow
from leerid.idp.store.server_secret import load_server_secret
from leerid.store import attempts

__all__ = [
    "LoginThrottle",
    "ThrottlePolicy",
    "ThrottleState",
    "ThrottleVerdict",
    "after_failure",
    "decide",
    "failure_delay",
    "lock_duration",
    "lock_end_text",
    "throttle_key",
]

T = TypeVar("T")
ACCOUNT = "account"
ADDRESS = "address"
_MAX_EXPONENT = 32  # 2**32 times any base delay is far above every cap


@dataclass(frozen=True)
class ThrottleVerdict:
    """What the login handler does with one attempt."""

    allowed: bool
    delay: float  # seconds to wait before answering
    retry_after: datetime | None  # when a temporary lock ends


@dataclass(frozen=True)
class ThrottlePolicy:
    """The numbers of the throttle; the defaults suit pupils behind a school's one address.

    Addresses get far higher thresholds and a short delay cap than accounts: hundreds of
    pupils of one school share a NAT address at 8:30, and their typing errors must not lock
    the school out, while a credential-stuffing run from one address still slows down.
    """

    account_free_failures: int = 3
    account_base_delay: float = 0.5
    account_max_delay: float = 4.0
    account_lock_after: int = 10
    address_free_failures: int = 30
    address_base_delay: float = 0.05
    address_max_delay: float = 1.0
    address_lock_after: int = 500
    lock_base: timedelta = timedelta(minutes=15)
    lock_max: timedelta = timedelta(hours=2)
    window: timedelta = timedelta(hours=1)  # failures are forgotten this long after the last

    @classmethod
    def from_env(cls) -> ThrottlePolicy:
        """The defaults, with the numbers a school's network may need changed (issue 8 §10).

        ``LEERID_THROTTLE_ACCOUNT_LOCK_AFTER`` (10), ``LEERID_THROTTLE_ADDRESS_LOCK_AFTER``
        (500), ``LEERID_THROTTLE_ADDRESS_FREE_FAILURES`` (30) and
        ``LEERID_THROTTLE_LOCK_MINUTES`` (15); see docs/login.md.
        """
        default = cls()
        return cls(
            account_lock_after=_env_count("ACCOUNT_LOCK_AFTER", default.account_lock_after),
            address_lock_after=_env_count("ADDRESS_LOCK_AFTER", default.address_lock_after),
            address_free_failures=_env_count(
                "ADDRESS_FREE_FAILURES", default.address_free_failures
            ),
            lock_base=timedelta(minutes=_env_count("LOCK_MINUTES", 15)),
        )


def _env_count(name: str, default: int) -> int:
    """``$LEERID_THROTTLE_<name>``: a whole number of at least 1, or ``default`` when unset."""
    variable = f"LEERID_THROTTLE_{name}"
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigurationError(
            f"{variable}={raw!r} is not a whole number of at least 1; unset it or give one "
            f"(default {default}, see docs/login.md)"
        )
    return int(raw)


@dataclass(frozen=True)
class ThrottleState:
    """The stored counter of one key: failures so far, the last one, a lock if any."""

    failures: int = 0
    last_failure_at: datetime | None = None
    locked_until: datetime | None = None


def failure_delay(failures: int, free: int, base: float, cap: float) -> float:
    """Seconds to wait after ``failures`` failures: 0 for the first ``free``, then doubling.

    Never decreases as failures grow, never exceeds ``cap``.
    """
    if failures <= free:
        return 0.0
    exponent = min(failures - free - 1, _MAX_EXPONENT)
    return float(min(cap, base * 2.0**exponent))


def lock_duration(failures: int, lock_after: int, base: timedelta, cap: timedelta) -> timedelta:
    """How long a lock lasts after ``failures`` failures: none below ``lock_after``.

    At ``lock_after`` the lock lasts ``base``; each further failure (possible once a lock
    has ended) doubles it, up to ``cap``.
    """
    if failures < lock_after:
        return timedelta(0)
    exponent = min(failures - lock_after, _MAX_EXPONENT)
    return min(cap, base * (1 << exponent))


def _effective(state: ThrottleState, now: datetime, window: timedelta) -> int:
    """Failures still counting: all of them until one window after the last one."""
    if state.last_failure_at is None or now - state.last_failure_at > window:
        return 0
    return state.failures


def _active_lock(state: ThrottleState, now: datetime) -> datetime | None:
    if state.locked_until is not None and state.locked_until > now:
        return state.locked_until
    return None


def decide(
    account: ThrottleState, address: ThrottleState, now: datetime, policy: ThrottlePolicy
) -> ThrottleVerdict:
    """The verdict on an attempt, given the account's and the address's counters."""
    account_failures = _effective(account, now, policy.window)
    address_failures = _effective(address, now, policy.window)
    delay = max(
        failure_delay(
            account_failures,
            policy.account_free_failures,
            policy.account_base_delay,
            policy.account_max_delay,
        ),
        failure_delay(
            address_failures,
            policy.address_free_failures,
            policy.address_base_delay,
            policy.address_max_delay,
        ),
    )
    locks = [lock for lock in (_active_lock(account, now), _active_lock(address, now)) if lock]
    if locks:
        return ThrottleVerdict(allowed=False, delay=delay, retry_after=max(locks))
    return ThrottleVerdict(allowed=True, delay=delay, retry_after=None)


def after_failure(
    state: ThrottleState, scope: str, now: datetime, policy: ThrottlePolicy
) -> ThrottleState:
    """The counter after one more failure: counted, and locked from the threshold on.

    An attempt made while the key is locked changes nothing: hammering a locked account
    must not keep its owner out for longer.
    """
    if _active_lock(state, now) is not None:
        return state
    failures = _effective(state, now, policy.window) + 1
    lock_after = policy.account_lock_after if scope == ACCOUNT else policy.address_lock_after
    duration = lock_duration(failures, lock_after, policy.lock_base, policy.lock_max)
    locked_until = state.locked_until
    if duration > timedelta(0):
        candidate = now + duration
        locked_until = candidate if locked_until is None else max(locked_until, candidate)
    return ThrottleState(failures=failures, last_failure_at=now, locked_until=locked_until)


BRUSSELS = ZoneInfo("Europe/Brussels")


def lock_end_text(until: datetime | None) -> str:
    """When a lock ends, for the page: rounded *up* to the minute, in Brussels, zone shown.

    Issue 8 §23: "14:15" for a lock ending at 14:15:30 sent the pupil back too early.
    """
    if until is None:
        return "?"
    local = until.astimezone(BRUSSELS)
    if local.second or local.microsecond:
        local = local.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return f"{local:%H:%M} {local.tzname()}"


def _normalise_username(username: str) -> str:
    """One bucket per name however it is typed (case, width, surrounding spaces)."""
    return unicodedata.normalize("NFKC", username).strip().casefold()


def _normalise_address(address: str) -> str:
    """An IPv4 address as is; an IPv6 address by its /64 (one host owns a whole /64)."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return address.strip()
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


def throttle_key(secret: bytes, scope: str, value: str) -> str:
    """The stored key of a username or an address: HMAC-SHA-256, hex; never the value."""
    normalised = _normalise_username(value) if scope == ACCOUNT else _normalise_address(value)
    message = f"{scope}\x00{normalised}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def throttle_secret(engine: sqlalchemy.Engine) -> bytes:
    """``$LEERID_THROTTLE_SECRET`` if set, else a random secret kept in the database.

    Either way every worker and node uses the same one; without it an address could be
    found again from its key by trying every address.
    """
    configured = os.environ.get("LEERID_THROTTLE_SECRET", "")
    return configured.encode() if configured else load_server_secret(engine, "login-throttle")


_DB_THREADS = os.environ.get("LEERID_DB_THREADS", "0") == "1"
"""As the provider's other database work (``IdpContext.run``): on the event loop by default
(a loopback statement costs less than a hop to a thread), in threads with
``LEERID_DB_THREADS=1`` (a database across a network)."""


async def _run(fn: Callable[..., T], *args: Any) -> T:
    if not _DB_THREADS:
        return fn(*args)
    return await anyio.to_thread.run_sync(functools.partial(fn, *args))


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

    def __init__(self, engine: sqlalchemy.Engine, policy: ThrottlePolicy | None = None) -> None:
        self.engine = engine
        self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.policy = policy or ThrottlePolicy()
        self._secret = throttle_secret(engine)

    def _now(self) -> datetime:
        return datetime.now(dt.UTC)

    def _keys(self, username: str, address: str) -> tuple[str, str]:
        return (
            throttle_key(self._secret, ACCOUNT, username),
            throttle_key(self._secret, ADDRESS, address),
        )

    def _read(self, account_key: str, address_key: str) -> tuple[ThrottleState, ThrottleState]:
        with self._reads.connect() as conn:
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
        return await _run(self.check_sync, username, address)

    def admit_sync(
        self, username: str, address: str, now: datetime | None = None
    ) -> ThrottleVerdict:
        """``admit`` for callers outside the event loop."""
        now = now or self._now()
        verdict = self.check_sync(username, address, now)
        if not verdict.allowed:
            return verdict
        account_key = throttle_key(self._secret, ACCOUNT, username)
        with self._reads.connect() as conn:
            reserved = attempts.reserve(
                conn,
                LoginThrottleRow.__table__,  # type: ignore[arg-type]
                account_key,
                ACCOUNT,
                now,
                lock_after=self.policy.account_lock_after,
                window=self.policy.window,
            )
        if reserved:
            return verdict
        # Locked, or as many attempts in flight as the lock allows: issue 8 §5.
        account, _address = self._read(account_key, "")
        until = _active_lock(account, now) or now + self.policy.lock_base
        return ThrottleVerdict(allowed=False, delay=verdict.delay, retry_after=until)

    async def admit(self, username: str, address: str) -> ThrottleVerdict:
        """May this attempt go ahead, and after what delay? If so, it is reserved.

        Issue 8 §5: the reservation is one statement, made before the secret is checked, so
        at most ``account_lock_after`` secrets per account are checked however many attempts
        arrive at once. Every admitted attempt must be settled by ``record_failure``,
        ``record_success`` or ``release``.
        """
        return await _run(self.admit_sync, username, address)

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
        await _run(self.record_failure_sync, username, address)

    def _release_sync(self, username: str, success: bool) -> None:
        account_key = throttle_key(self._secret, ACCOUNT, username)
        with self.engine.begin() as conn:
            attempts.release(
                conn,
                LoginThrottleRow.__table__,  # type: ignore[arg-type]
                account_key,
                self._now(),
                success=success,
            )

    def record_success_sync(self, username: str, address: str) -> None:
        """``record_success`` for callers outside the event loop."""
        self._release_sync(username, success=True)

    async def record_success(self, username: str, address: str) -> None:
        """Settle an admitted attempt as succeeded: the account's settled failures are
        cleared (never the address's); other attempts still in flight stay counted."""
        await _run(self._release_sync, username, True)

    async def release(self, username: str) -> None:
        """Settle an admitted attempt that neither failed nor succeeded (e.g. an expired
        activation code): it stops counting as in flight, nothing else changes."""
        await _run(self._release_sync, username, False)

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
