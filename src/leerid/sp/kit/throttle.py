"""Staff login throttling: per account and per address, in the portal's database.

Issue 8 §5: an attempt is reserved in one statement before the password is checked
(``leerid.store.attempts``), so a burst gets at most ``account_lock_after`` passwords of one
account checked, and every portal process counts in the same table (``sp_login_throttle``).

Issue 8 §10: the account and the address are counted apart. An account locks after a few
failures; an address only after far more (a CLB office shares one NAT address, and its
staff's typos must not lock everyone), and not at all inside the configured office ranges
(``[staff_login] office_ranges`` in the portal's TOML).

Counted alike for existing and unknown usernames, so it reveals nothing about accounts.
Keys are an HMAC of the scope and the value: no name or address is stored in clear.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
from datetime import datetime, timedelta

from sqlalchemy import Engine, Table, select

from leerid.sp.kit.models import StaffLoginThrottleRow
from leerid.sp.kit.settings import StaffLoginSettings
from leerid.store import attempts

__all__ = ["StaffLoginThrottle", "purge_spent"]

ACCOUNT = "account"
ADDRESS = "address"
WINDOW = timedelta(hours=1)  # failures are forgotten this long after the last
BATCH = 1000  # rows per transaction in the purge, as the retention purge
TABLE: Table = StaffLoginThrottleRow.__table__  # type: ignore[assignment]


class StaffLoginThrottle:
    """The staff login throttle of one portal, over its database."""

    def __init__(self, engine: Engine, settings: StaffLoginSettings, secret: bytes) -> None:
        self.engine = engine
        self.settings = settings
        self._secret = secret
        self._lock = timedelta(minutes=settings.lock_minutes)

    def _key(self, scope: str, value: str) -> str:
        message = f"staff-throttle\x00{scope}\x00{value}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def _account(self, username: str) -> str:
        return self._key(ACCOUNT, username.strip().lower())

    def _address(self, address: str) -> str | None:
        """The address's key, or None inside an office range (not counted per address)."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return self._key(ADDRESS, address)
        if any(ip in network for network in self.settings.office_ranges):
            return None
        return self._key(ADDRESS, str(ip))

    def _locked_until(self, key: str, now: datetime) -> datetime | None:
        with self.engine.connect() as conn:
            until = attempts.aware(
                conn.scalar(select(TABLE.c.locked_until).where(TABLE.c.key == key))
            )
        return until if until is not None and until > now else None

    def admit(self, username: str, address: str, now: datetime | None = None) -> int:
        """Seconds to wait (0: this attempt is reserved and its password may be checked).

        Every admitted attempt must be settled with ``failed`` or ``succeeded``.
        """
        now = now or datetime.now(dt.UTC)
        address_key = self._address(address)
        if address_key is not None and (until := self._locked_until(address_key, now)):
            return _seconds(until - now)
        account_key = self._account(username)
        with self.engine.connect() as conn, conn.begin():
            reserved = attempts.reserve(
                conn,
                TABLE,
                account_key,
                ACCOUNT,
                now,
                lock_after=self.settings.account_lock_after,
                window=WINDOW,
            )
        if reserved:
            return 0
        until = self._locked_until(account_key, now)
        return _seconds((until - now) if until else self._lock)

    def failed(self, username: str, address: str, now: datetime | None = None) -> None:
        """Settle an admitted attempt as failed: counted for the account and the address."""
        now = now or datetime.now(dt.UTC)
        address_key = self._address(address)
        counts = [(self._account(username), ACCOUNT, self.settings.account_lock_after, True)]
        if address_key is not None:
            counts.append((address_key, ADDRESS, self.settings.address_lock_after, False))
        with self.engine.connect() as conn, conn.begin():
            for key, scope, lock_after, settle in sorted(counts):  # one lock order
                attempts.count_failure(
                    conn,
                    TABLE,
                    key,
                    scope,
                    now,
                    lock_after=lock_after,
                    window=WINDOW,
                    lock=self._lock,
                    settle=settle,
                )

    def succeeded(self, username: str, now: datetime | None = None) -> None:
        """Settle an admitted attempt as succeeded: the account's failures are cleared (not
        the address's, nor the other attempts still in flight)."""
        with self.engine.connect() as conn, conn.begin():
            attempts.release(
                conn, TABLE, self._account(username), now or datetime.now(dt.UTC), success=True
            )


def purge_spent(engine: Engine, now: datetime | None = None, *, batch: int = BATCH) -> int:
    """Delete the rows that count for nothing any more (window and lock ended, no attempt in
    flight), ``batch`` per transaction; the number deleted. Run by the daily job."""
    now = now or datetime.now(dt.UTC)
    total = 0
    while True:
        with engine.begin() as conn:
            deleted = attempts.purge(conn, TABLE, now, window=WINDOW, limit=batch)
        total += deleted
        if deleted < batch:
            return total


def _seconds(wait: timedelta) -> int:
    return max(1, int(wait.total_seconds() + 0.999))
