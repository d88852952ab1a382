"""Issue 14 §4: signing keys that rotate by themselves, in each provider process.

Every ``period`` seconds (``LEERID_KEY_ROTATION_DAYS``, 30 days; 0: only by hand) a next key
pair is published ``ahead`` seconds (``LEERID_KEY_PUBLISH_AHEAD_SECONDS``) before it signs.
Every node runs this loop; ``rotate_keys`` makes the rotation happen once, by the first node
that finds it due (it locks the live keys, then finds the next key published and does
nothing). The loop looks ``interval`` seconds apart: a twentieth of the period, at most a
minute, so a rotation is never late by more than that.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from leerid.idp.store.keys import Rotation, rotate_keys, signs_at
from leerid.idp.store.models import IdpSigningKey
from leerid.store.outage import outage_class

__all__ = ["KeyRotator", "KeyState", "check_interval", "key_states"]


@dataclass(frozen=True)
class KeyState:
    """One signing key as ``leerid keys list`` shows it (no private part)."""

    kid: str
    kty: str
    created_at: dt.datetime
    activates_at: dt.datetime | None
    retired_at: dt.datetime | None
    state: str
    """``next`` (published, signs later), ``signing``, or ``retired`` (published, or kept for
    a pending SET, until a rotation deletes it)."""

    def as_json(self) -> dict[str, Any]:
        def when(value: dt.datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "kid": self.kid,
            "kty": self.kty,
            "state": self.state,
            "created_at": when(self.created_at),
            "activates_at": when(self.activates_at),
            "retired_at": when(self.retired_at),
        }


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


def key_states(engine: Engine, now: dt.datetime | None = None) -> list[KeyState]:
    """Every stored signing key, newest first, with its state at ``now``."""
    now = now or dt.datetime.now(dt.UTC)
    k = IdpSigningKey
    with engine.connect() as conn:
        rows = conn.execute(
            select(k.kid, k.kty, k.created_at, k.activates_at, k.retired_at).order_by(
                k.created_at.desc(), k.kty.desc()
            )
        ).all()
    states = []
    for row in rows:
        created = _aware(row.created_at) or now
        activates, retired = _aware(row.activates_at), _aware(row.retired_at)
        state = "signing" if signs_at(activates, retired, now) else "next"
        if retired is not None and retired <= now:
            state = "retired"  # a next key retired by an emergency rotation never signed
        states.append(KeyState(row.kid, row.kty, created, activates, retired, state))
    return states


log = logging.getLogger("leerid.idp.keys")


def check_interval(period: float) -> float:
    """Seconds between two looks: a twentieth of the period, between 0.1 s and a minute."""
    return min(60.0, max(0.1, period / 20))


class KeyRotator:
    """The background loop of one process that rotates the signing keys when due."""

    def __init__(self, engine: Engine, period: float, ahead: float, token_lifetime: int) -> None:
        self.engine = engine
        self.period = period
        self.ahead = ahead
        self.token_lifetime = token_lifetime
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_error = ""

    def round(self, now: dt.datetime | None = None) -> Rotation:
        """Rotate when due (once over all nodes): what was done."""
        done = rotate_keys(
            self.engine, self.token_lifetime, self.ahead, period=self.period, now=now
        )
        if done.new:  # kids only: public identifiers of public keys
            at = done.activates_at.isoformat() if done.activates_at else "now"
            log.info("published next signing keys %s; they sign from %s", done.new, at)
        return done

    def _run(self) -> None:
        while not self._stopping.wait(check_interval(self.period)):
            try:
                self.round()
                self._last_error = ""
            except Exception as exc:  # the database is gone or refused: try again next round
                kind = outage_class(exc)
                if kind is None:
                    log.exception("signing key rotation failed; retrying")
                elif self._last_error != kind:
                    log.warning("signing keys not rotated: %s; retrying", kind)
                self._last_error = kind or "failed"

    def start(self) -> None:
        """Run the loop in a daemon thread (nothing when rotation is by hand only)."""
        if self.period <= 0:
            return
        self._thread = threading.Thread(target=self._run, name="leerid-keys", daemon=True)
        self._thread.start()

    def stop(self, seconds: float = 10.0) -> None:
        """End the loop."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(seconds)
