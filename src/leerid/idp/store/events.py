"""The outbox of Security Event Tokens (RFC 8417) and what the events endpoint reads of it.

One row per SET per client: the compact JWS as it was signed, its ``jti``, the DOV change it
carries (``change_id``, the SET's ``txn``), its event type, when it was made, first delivered
and acknowledged, or the error the recipient reported (RFC 8936 §2.4.3). A SET is delivered
again on every poll until it is acknowledged or reported (``state`` pending -> acked | error).
Unique (client_id, change_id): one change never becomes two SETs for one client, whatever
the number of provider nodes publishing. No name, no INSZ: the JWS holds identifiers only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    Engine,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    case,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from leerid.store import bulk
from leerid.store.base import Base

__all__ = [
    "ACKED",
    "ERROR",
    "PENDING",
    "ClientEvents",
    "EventClient",
    "EventCursor",
    "EventLine",
    "PollAnswers",
    "PollResult",
    "SecurityEvent",
    "acknowledge",
    "deliver",
    "event_lines",
    "has_pending",
    "pending_sets",
    "poll",
    "redeliver",
    "report_errors",
    "summary",
]

PENDING, ACKED, ERROR = "pending", "acked", "error"
PUBLISHER = "publisher"
"""The name of the publisher's cursor row (the only one)."""


class SecurityEvent(Base):
    """One SET for one client (RFC 8417), kept until purged (30 days acked, 90 pending)."""

    __tablename__ = "idp_security_event"
    __table_args__ = (
        UniqueConstraint("client_id", "change_id", name="uq_idp_security_event_client_change"),
        Index("ix_idp_security_event_poll", "client_id", "state", "id"),
        Index("ix_idp_security_event_created_at", "created_at"),
        Index("ix_idp_security_event_kid_state", "kid", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(String(64))
    jti: Mapped[str] = mapped_column(String(32), unique=True)
    change_id: Mapped[int] = mapped_column(Integer)
    event_type: Mapped[str] = mapped_column(String(100))
    jws: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10))  # pending | acked | error
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    acked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    err: Mapped[str | None] = mapped_column(String(40))
    description: Mapped[str | None] = mapped_column(Text)
    kid: Mapped[str | None] = mapped_column(String(64))
    """The key that signed the JWS: kept published while this SET is pending (``keys``)."""
    redeliver_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    """When a delivered, unacknowledged SET may be delivered again (NULL: at once)."""


class EventCursor(Base):
    """How far the publisher read the DOV change feed (``dov_change.id``)."""

    __tablename__ = "idp_event_cursor"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_change_id: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class EventClient(Base):
    """A client that was sent the protocol version it is bound to (its first SET, art. 11)."""

    __tablename__ = "idp_event_client"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    welcomed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


_T = SecurityEvent.__table__


def pending_sets(
    conn: Connection, client_id: str, limit: int, now: dt.datetime
) -> tuple[list[Any], bool]:
    """RFC 8936 §2.4: the client's oldest ``limit`` unacknowledged SETs that may be delivered
    at ``now`` (never delivered, or their ``redeliver_at`` passed), and whether more wait."""
    stmt = select(_T.c.id, _T.c.jti, _T.c.jws).where(
        _T.c.client_id == client_id,
        _T.c.state == PENDING,
        or_(_T.c.redeliver_at.is_(None), _T.c.redeliver_at <= now),
    )
    rows = conn.execute(stmt.order_by(_T.c.id).limit(limit + 1)).all()
    return list(rows[:limit]), len(rows) > limit


def deliver(conn: Connection, ids: Sequence[int], now: dt.datetime, again: dt.datetime) -> None:
    """Note the delivery of these SETs: the first one's time (kept), and ``again``, when they
    may be delivered again if not acknowledged by then."""
    for condition in bulk.keys_in(conn, _T.c.id, ids):
        conn.execute(
            update(SecurityEvent)
            .where(condition)
            .values(delivered_at=func.coalesce(SecurityEvent.delivered_at, now), redeliver_at=again)
        )


def _pending_ids(conn: Connection, client_id: str, jtis: Sequence[str]) -> dict[str, int]:
    """The ids of the client's pending SETs among ``jtis`` (jti -> id), found by the unique
    ``jti`` (filtering on client and state in SQL lets PostgreSQL walk the client's pending
    SETs through the poll index instead, comparing each with the list: 135 ms for 500 of
    20,000)."""
    ids: dict[str, int] = {}
    for condition in bulk.keys_in(conn, _T.c.jti, sorted(set(jtis))):
        rows = conn.execute(select(_T.c.id, _T.c.jti, _T.c.client_id, _T.c.state).where(condition))
        ids.update((r.jti, r.id) for r in rows if r.client_id == client_id and r.state == PENDING)
    return ids


def redeliver(conn: Connection, client_id: str, jtis: Sequence[str]) -> int:
    """The client could not process these SETs (the poll member ``leerid_redeliver``): they
    are due again at once, before any newer one, so nothing overtakes them; how many."""
    done = 0
    for condition in bulk.keys_in(
        conn, _T.c.id, list(_pending_ids(conn, client_id, jtis).values())
    ):
        done += conn.execute(
            update(SecurityEvent)
            .where(condition, SecurityEvent.state == PENDING)
            .values(redeliver_at=None)
        ).rowcount
    return done


def acknowledge(conn: Connection, client_id: str, jtis: Iterable[str], now: dt.datetime) -> int:
    """RFC 8936 §2.4.2: the client's SETs ``jtis`` are acknowledged; how many were pending.

    A jti that is unknown, another client's or acknowledged already is ignored silently
    (§2.4.2 asks nothing else of the transmitter, and the recipient learns nothing of others).
    """
    done = 0
    ids = list(_pending_ids(conn, client_id, list(jtis)).values())
    for condition in bulk.keys_in(conn, _T.c.id, ids):
        done += conn.execute(
            update(SecurityEvent)
            .where(condition, SecurityEvent.state == PENDING)
            .values(state=ACKED, acked_at=now)
        ).rowcount
    return done


def report_errors(
    conn: Connection, client_id: str, errors: Mapping[str, tuple[str, str]], now: dt.datetime
) -> int:
    """RFC 8936 §2.4.3: SETs the client rejected are kept with the error, never sent again;
    how many. Unknown or other clients' jtis are ignored, as for acknowledgements."""
    done = 0
    for jti, row_id in _pending_ids(conn, client_id, list(errors)).items():
        err, description = errors[jti]
        done += conn.execute(
            update(SecurityEvent)
            .where(SecurityEvent.id == row_id, SecurityEvent.state == PENDING)
            .values(state=ERROR, err=err, description=description, acked_at=now)
        ).rowcount
    return done


@dataclass(frozen=True)
class ClientEvents:
    """A client's SETs by state, for ``leerid events list`` (counts, no personal data)."""

    client_id: str
    pending: int
    delivered: int
    acknowledged: int
    errors: int
    oldest_pending: dt.datetime | None

    def as_json(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "pending": self.pending,
            "delivered": self.delivered,
            "acknowledged": self.acknowledged,
            "errors": self.errors,
            "oldest_pending": None
            if self.oldest_pending is None
            else self.oldest_pending.isoformat(),
        }


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=dt.UTC)  # SQLite keeps no offset; we always write UTC


def _count(condition: Any) -> Any:
    return func.sum(case((condition, 1), else_=0))


def summary(conn: Connection, client_id: str | None = None) -> list[ClientEvents]:
    """Per client: pending, delivered at least once, acknowledged, rejected (errors)."""
    stmt = select(
        _T.c.client_id,
        _count(_T.c.state == PENDING),
        _count(_T.c.delivered_at.is_not(None)),
        _count(_T.c.state == ACKED),
        _count(_T.c.state == ERROR),
        func.min(case((_T.c.state == PENDING, _T.c.created_at))),
    ).group_by(_T.c.client_id)
    if client_id is not None:
        stmt = stmt.where(_T.c.client_id == client_id)
    return [
        ClientEvents(
            r[0], int(r[1] or 0), int(r[2] or 0), int(r[3] or 0), int(r[4] or 0), _aware(r[5])
        )
        for r in conn.execute(stmt.order_by(_T.c.client_id))
    ]


@dataclass(frozen=True)
class EventLine:
    """One SET as ``leerid events list --pending`` and its errors show it (no content)."""

    client_id: str
    jti: str
    txn: int
    event_type: str
    state: str
    created_at: dt.datetime
    delivered_at: dt.datetime | None
    err: str | None
    description: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "jti": self.jti,
            "txn": str(self.txn),
            "event_type": self.event_type,
            "state": self.state,
            "created_at": self.created_at.isoformat(),
            "delivered_at": None if self.delivered_at is None else self.delivered_at.isoformat(),
            "err": self.err,
            "description": self.description,
        }


def event_lines(
    conn: Connection, states: Sequence[str], client_id: str | None = None, limit: int = 1000
) -> list[EventLine]:
    """The SETs in ``states`` (oldest first), of one client or all, at most ``limit``."""
    stmt = select(
        _T.c.client_id,
        _T.c.jti,
        _T.c.change_id,
        _T.c.event_type,
        _T.c.state,
        _T.c.created_at,
        _T.c.delivered_at,
        _T.c.err,
        _T.c.description,
    ).where(_T.c.state.in_(list(states)))
    if client_id is not None:
        stmt = stmt.where(_T.c.client_id == client_id)
    rows = conn.execute(stmt.order_by(_T.c.id).limit(limit))
    return [
        EventLine(r[0], r[1], r[2], r[3], r[4], _aware(r[5]) or r[5], _aware(r[6]), r[7], r[8])
        for r in rows
    ]


@dataclass(frozen=True)
class PollAnswers:
    """What the client says of SETs it was sent: processed (``acks``, RFC 8936 §2.4.2),
    rejected (``errors``, jti -> (err, description), §2.4.3) and not processed, to be
    delivered again at once (``redeliver``, the leerid poll member ``leerid_redeliver``)."""

    acks: Sequence[str] = ()
    errors: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    redeliver: Sequence[str] = ()
    resend_unacknowledged: bool = False
    """``leerid_resend_unacknowledged``: every SET delivered and not answered is due again."""


@dataclass(frozen=True)
class PollResult:
    """One poll's answer (RFC 8936 §2.4): the SETs, whether more wait, what was processed."""

    sets: list[tuple[str, str]]  # (jti, compact JWS), oldest first
    more: bool
    acked: int
    errors: int


def poll(
    engine: Engine,
    client_id: str,
    answers: PollAnswers,
    max_events: int,
    now: dt.datetime,
    redeliver_after: dt.timedelta = dt.timedelta(0),
) -> PollResult:
    """RFC 8936 §2.4: process the client's answers (acknowledgements, errors, SETs to deliver
    again at once), then return the oldest pending SETs that may be delivered now, all in one
    transaction (an acknowledged SET is never returned again).

    A SET delivered and not yet acknowledged comes again ``redeliver_after`` after its last
    delivery (§2.4: "after a period of time ... MAY reissue"): the recipient may ask for the
    next SETs while it still applies the last ones."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # lost at a crash, an acknowledgement or delivery time only means the SET comes
            # again, and the recipient acknowledges a jti it applied before (RFC 8936 §2.4)
            conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
        acked = acknowledge(conn, client_id, answers.acks, now) if answers.acks else 0
        errored = report_errors(conn, client_id, answers.errors, now) if answers.errors else 0
        if answers.resend_unacknowledged:
            conn.execute(
                update(SecurityEvent)
                .where(
                    SecurityEvent.client_id == client_id,
                    SecurityEvent.state == PENDING,
                    SecurityEvent.redeliver_at.is_not(None),
                )
                .values(redeliver_at=None)
            )
        if answers.redeliver:
            redeliver(conn, client_id, answers.redeliver)
        if max_events == 0:
            more = bool(pending_sets(conn, client_id, 0, now)[1])
            return PollResult([], more, acked, errored)
        rows, more = pending_sets(conn, client_id, max_events, now)
        deliver(conn, [r.id for r in rows], now, now + redeliver_after)
    return PollResult([(r.jti, r.jws) for r in rows], more, acked, errored)


def has_pending(engine: Engine, client_id: str, now: dt.datetime) -> bool:
    """Whether ``client_id`` has a SET to deliver now (one indexed read, for the long poll)."""
    with engine.connect() as conn:
        return bool(pending_sets(conn, client_id, 0, now)[1])
