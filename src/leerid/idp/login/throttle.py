"""Brute-force protection for password logins: growing delays and temporary locks.

Issue 4 §4: per-account and per-address throttling with growing delays, a temporary lock
after repeated failures, and the same answer for unknown usernames. The rules are plain
functions over plain numbers (``failure_delay``, ``lock_duration``, ``decide``,
``after_failure``); ``LoginThrottle`` (``leerid.idp.store.throttle``) keeps the
counters in the database so that every worker and every node sees the same state.

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

import hashlib
import hmac
import ipaddress
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

__all__ = [
    "ThrottlePolicy",
    "ThrottleState",
    "ThrottleVerdict",
    "active_lock",
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


def active_lock(state: ThrottleState, now: datetime) -> datetime | None:
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
    locks = [lock for lock in (active_lock(account, now), active_lock(address, now)) if lock]
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
    if active_lock(state, now) is not None:
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
