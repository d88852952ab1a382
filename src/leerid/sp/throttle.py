"""Staff login throttling: after repeated failures a name or an address waits.

Counted alike for existing and unknown usernames, so it reveals nothing about accounts.
In memory, per process: a portal runs as one process; several would each count apart.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

FREE_ATTEMPTS = 5
LOCK_SECONDS = 15 * 60
FORGET_SECONDS = 60 * 60


class LoginThrottle:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def wait_seconds(self, *keys: str) -> int:
        """How long these keys must still wait (0: a login may be tried)."""
        now = self._clock()
        with self._lock:
            waits = []
            for key in keys:
                count, last = self._failures.get(key, (0, 0.0))
                if count >= FREE_ATTEMPTS:
                    waits.append(max(0, int(last + LOCK_SECONDS - now)))
            return max(waits, default=0)

    def failed(self, *keys: str) -> None:
        now = self._clock()
        with self._lock:
            for key in keys:
                count, last = self._failures.get(key, (0, 0.0))
                if now - last > FORGET_SECONDS:
                    count = 0
                self._failures[key] = (count + 1, now)

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
