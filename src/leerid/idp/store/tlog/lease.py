"""Issue 12 §6: one elected integrator among the provider's nodes, by a lease in the database.

Every node runs the same loop; only the holder of the lease on ``idp_tlog_state`` integrates.
A node takes or renews the lease with ONE conditional UPDATE (``integrator = me OR
lease_until < now``): of two nodes racing for an expired lease exactly one row update
succeeds. On PostgreSQL the time is the database's (``clock_timestamp()``), so the nodes'
clocks need not agree; on SQLite (one machine) it is this process's clock. A node that stops
cleanly gives its lease up; one that dies (``kill -9``) loses it when it runs out.

The lease is an economy, not the safety: the integration itself locks the state row, and
``UNIQUE(idx)`` refuses an index given twice, so two nodes that both believe they hold the
lease still cannot break the tree (``integrate.integrate_once``).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket

from sqlalchemy import Connection, Engine, and_, or_, text, update

from leerid.idp.store.tlog.tables import TlogState

__all__ = ["database_now", "node_name", "release_lease", "take_lease"]


def node_name() -> str:
    """This process among the nodes: host, pid and a random tag (a restarted process on the
    same host and pid is another node)."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{secrets.token_hex(4)}"


def database_now(conn: Connection) -> dt.datetime:
    """The time the nodes agree on: PostgreSQL's clock, else this process's (UTC)."""
    if conn.dialect.name == "postgresql":
        now: dt.datetime = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
        return now
    return dt.datetime.now(dt.UTC)


def take_lease(engine: Engine, me: str, seconds: float) -> bool:
    """Issue 12 §6: take or renew the integrator's lease for ``seconds``; whether ``me``
    holds it now. One conditional UPDATE: ``integrator = me OR lease expired or never
    given``."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            taken = conn.execute(
                text(
                    "UPDATE idp_tlog_state SET integrator = :me, "
                    "lease_until = clock_timestamp() + make_interval(secs => :seconds) "
                    "WHERE id = 1 AND (integrator = :me OR lease_until IS NULL "
                    "OR lease_until < clock_timestamp())"
                ),
                {"me": me, "seconds": seconds},
            )
            return taken.rowcount == 1
        now = dt.datetime.now(dt.UTC)
        taken = conn.execute(
            update(TlogState)
            .where(
                and_(
                    TlogState.id == 1,
                    or_(
                        TlogState.integrator == me,
                        TlogState.lease_until.is_(None),
                        TlogState.lease_until < now,
                    ),
                )
            )
            .values(integrator=me, lease_until=now + dt.timedelta(seconds=seconds))
        )
        return taken.rowcount == 1


def release_lease(engine: Engine, me: str) -> None:
    """Give the lease up (a clean stop): another node takes over at its next round."""
    with engine.begin() as conn:
        conn.execute(
            update(TlogState)
            .where(and_(TlogState.id == 1, TlogState.integrator == me))
            .values(lease_until=None)
        )
