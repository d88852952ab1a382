"""Issue 12 §6: the integrator loop every provider node runs (a thread of the app's lifespan).

Once per ``LEERID_TLOG_INTERVAL`` (default 1 s) the loop takes or renews the lease
(``lease.take_lease``, ``LEERID_TLOG_LEASE``, default 5 s). The holder integrates the pending
entries batch by batch, renewing the lease between batches, and signs a checkpoint when one
is due (``integrate.integrate_once``); the others wait, ready to take over when the lease
runs out. Every node then sets the ``leerid_tlog_*`` gauges from the database. A stop gives
the lease up; an error is logged (no personal data: an entry holds none) and counted, and
the next round tries again. A checkpoint under another origin than the log's is refused
(``integrate.OriginMismatchError``): the node gives the lease up and loads its key again,
so a derived origin yields to the stored one and an explicit other one is refused.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from sqlalchemy import Engine

from leerid.errors import LeeridError
from leerid.idp import metrics
from leerid.idp.store.tlog.checkpoints import log_origin, log_signer
from leerid.idp.store.tlog.integrate import BATCH, OriginMismatchError, integrate_once
from leerid.idp.store.tlog.lease import node_name, release_lease, take_lease
from leerid.idp.store.tlog.status import log_status
from leerid.store.outage import outage_class
from leerid.transparency.note import Ed25519Signer

__all__ = ["Integrator"]

log = logging.getLogger(__name__)


class Integrator:
    """One node's integrator loop (``start`` / ``stop``; ``round`` for one round by hand)."""

    def __init__(
        self,
        engine: Engine,
        origin: str,
        *,
        origin_set: bool = True,
        interval: float = 1.0,
        lease: float = 5.0,
    ) -> None:
        self.engine = engine
        self.origin = origin
        self.origin_set = origin_set
        self.interval = interval
        self.lease = lease
        self.me = node_name()
        self._signer: Ed25519Signer | None = None
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_error = ""

    def signer(self) -> Ed25519Signer:
        """The log key, loaded once (the origin checked against the stored checkpoints)."""
        if self._signer is None:
            origin = log_origin(self.engine, self.origin, explicit=self.origin_set)
            self._signer = log_signer(self.engine, origin)
        return self._signer

    def round(self) -> str:
        """One round: ``integrated``, ``idle`` (nothing pending) or ``standby`` (another node
        holds the lease)."""
        if not take_lease(self.engine, self.me, self.lease):
            return "standby"
        signer, integrated = self.signer(), 0
        while not self._stopping.is_set():
            try:
                done = integrate_once(
                    self.engine, signer, batch=BATCH, checkpoint_every=self.interval
                )
            except OriginMismatchError:  # loaded before another node's first checkpoint
                self._signer = None
                release_lease(self.engine, self.me)
                raise
            integrated += done.integrated
            if done.integrated < BATCH or not take_lease(self.engine, self.me, self.lease):
                break
        metrics.TLOG_INTEGRATED.inc(integrated)
        return "integrated" if integrated else "idle"

    def _gauges(self) -> None:
        with self.engine.connect() as conn:
            status = log_status(conn)
        metrics.TLOG_SIZE.set(status.size)
        metrics.TLOG_PENDING.set(status.pending)
        if status.checkpoint is not None:
            age = dt.datetime.now(dt.UTC) - status.checkpoint.signed_at
            metrics.TLOG_CHECKPOINT_AGE.set(max(0.0, age.total_seconds()))

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                outcome = self.round()
                self._gauges()
                self._last_error = ""
            except LeeridError as exc:  # a configuration a person must fix: say it once
                outcome = "failed"
                if exc.message != self._last_error:
                    log.error("transparency log not integrated: %s", exc.message)
                self._last_error = exc.message
            except Exception as exc:  # the database is gone or refused: try again next round
                outcome = "failed"
                self._say_failed(exc)
            metrics.TLOG_INTEGRATIONS.labels(outcome).inc()

    def _say_failed(self, exc: Exception) -> None:
        """A lost database is one warning line until it is back (no traceback: it is not a
        bug, ``store.outage`` answers the requests meanwhile); anything else a traceback."""
        kind = outage_class(exc)
        if kind is None:
            log.exception("transparency log integration round failed; retrying")
            return
        if self._last_error != kind:
            log.warning("transparency log not integrated: %s; retrying every round", kind)
        self._last_error = kind

    def start(self) -> None:
        """Run the loop in a daemon thread."""
        self._thread = threading.Thread(target=self._run, name="leerid-tlog", daemon=True)
        self._thread.start()

    def stop(self, seconds: float = 10.0) -> None:
        """End the loop (after the batch in progress) and give the lease up."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(seconds)
        try:
            release_lease(self.engine, self.me)
        except Exception:  # the database is gone: the lease runs out by itself
            log.warning("transparency log lease not released; it runs out by itself")
