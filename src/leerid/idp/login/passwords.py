"""Password hashing with Argon2id at OWASP's parameters, off the event loop.

Issue 4 §4: Argon2id (argon2-cffi) at 19 MiB, 2 passes, parallelism 1; at most one hash per
core at a time; hashes upgraded on login when the parameters change. The parameters can be
lowered through the environment (for benchmarks that measure the flow without the hash),
which is announced loudly on the log and on standard error.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from leerid.idp.settings import OWASP_ARGON2, argon2_from_env, hash_concurrency_from_env
from leerid.passwords_unicode import normalise_password, password_forms

__all__ = ["OWASP", "Argon2Parameters", "PasswordHasher", "normalise_password"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Argon2Parameters:
    """Argon2id cost parameters."""

    memory_kib: int
    time_cost: int
    parallelism: int

    def below(self, other: Argon2Parameters) -> bool:
        """Whether any parameter is weaker than ``other``'s."""
        return (
            self.memory_kib < other.memory_kib
            or self.time_cost < other.time_cost
            or self.parallelism < other.parallelism
        )


OWASP = Argon2Parameters(*OWASP_ARGON2)
"""OWASP Password Storage Cheat Sheet: Argon2id, 19 MiB, 2 iterations, 1 degree of parallelism."""


class PasswordHasher:
    """Argon2id hashing and verification in a bounded thread pool.

    argon2-cffi releases the GIL while hashing, so a pool of one thread per core (per
    process: ``leerid idp serve --workers N`` divides the cores among the workers) hashes in
    parallel without ever running more hashes than there are cores.
    """

    def __init__(
        self, parameters: Argon2Parameters = OWASP, concurrency: int | None = None
    ) -> None:
        self.parameters = parameters
        if parameters.below(OWASP):
            message = (
                "WARNING: Argon2id parameters "
                f"(memory {parameters.memory_kib} KiB, time cost {parameters.time_cost}, "
                f"parallelism {parameters.parallelism}) are BELOW OWASP's minimum "
                f"({OWASP.memory_kib} KiB, {OWASP.time_cost}, {OWASP.parallelism}). "
                "Passwords hashed now are weakly protected: use this for benchmarks only."
            )
            log.warning(message)
            print(message, file=sys.stderr, flush=True)
        self._argon2 = _Argon2(
            time_cost=parameters.time_cost,
            memory_cost=parameters.memory_kib,
            parallelism=parameters.parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )
        self._pool = ThreadPoolExecutor(
            max_workers=concurrency or hash_concurrency_from_env(), thread_name_prefix="argon2"
        )
        self._dummy_hash = self._argon2.hash("leerid: no such user")

    @classmethod
    def from_env(cls) -> PasswordHasher:
        """The hasher configured by ``LEERID_ARGON2_*`` (OWASP's parameters by default)."""
        return cls(Argon2Parameters(*argon2_from_env()))

    def hash_sync(self, password: str) -> str:
        """The Argon2id hash of ``password``, normalised (blocking; for commands)."""
        return self._argon2.hash(normalise_password(password))

    async def hash(self, password: str) -> str:
        """The Argon2id hash of ``password``, normalised, computed in the bounded pool."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.hash_sync, password)

    def _matches(self, stored_hash: str, password: str) -> bool:
        try:
            return bool(self._argon2.verify(stored_hash, password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def _verify(self, stored_hash: str | None, password: str) -> tuple[bool, str | None]:
        # issue 8 §9: the normalised form first, the raw one (an older hash) only if it differs
        forms = password_forms(password)
        normalised = forms[0]
        if stored_hash is None:
            # No user or no password yet: spend the same time, then say no (no enumeration).
            for form in forms:
                self._matches(self._dummy_hash, form)
            return False, None
        for form in forms:
            if self._matches(stored_hash, form):
                stale = form != normalised or self._argon2.check_needs_rehash(stored_hash)
                return True, self._argon2.hash(normalised) if stale else None
        return False, None

    async def verify(self, stored_hash: str | None, password: str) -> tuple[bool, str | None]:
        """Whether ``password`` matches; and a new hash when the parameters changed or the
        stored hash was made from the unnormalised form.

        ``stored_hash`` None (unknown username) is verified against a dummy hash, so that an
        unknown username costs the same time as a wrong password.
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._verify, stored_hash, password)

    def close(self) -> None:
        """Stop the pool's threads."""
        self._pool.shutdown(wait=False)
