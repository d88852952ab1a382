"""What the witness holds of DOV's log, and how a round changes it (issue 12, §3).

The held checkpoints (``sp_tlog_checkpoint``) and the round state (``sp_tlog_state``): the
newest held size, the consistency proof DOV refused once, since when DOV has not answered.

C2SP tlog-witness: a witness must never cosign two checkpoints that do not extend each
other. Rounds hold a lease, but a round slower than its lease could run next to another, so
a checkpoint is kept by a compare-and-set on the newest held size: only if the held one is
still the one its consistency proof started from (``keep``); a round that lost drops its
result. Whatever is held newest and has no cosignature yet gets one (``cosign_newest``), so
a round that stopped between keeping and cosigning is made good by the next.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from leerid.sp.kit.log_alerts import keep_alert
from leerid.sp.kit.log_client import b64url, unb64url
from leerid.sp.kit.log_receipts import HeldCheckpoint
from leerid.sp.kit.log_tables import WitnessedCheckpoint, WitnessState
from leerid.store.engine import session_scope
from leerid.transparency.checkpoint import Checkpoint
from leerid.transparency.cosignature import Cosigner

__all__ = [
    "Held",
    "cosign_newest",
    "delivered",
    "held",
    "keep",
    "refused",
    "seen",
    "set_refused",
    "silence",
]


@dataclass(frozen=True)
class Held:
    """The newest held checkpoint, our cosignature of it and whether DOV took it."""

    checkpoint: HeldCheckpoint
    cosignature: str | None
    delivered: bool


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _newest(session: Session) -> WitnessedCheckpoint | None:
    return session.scalars(
        select(WitnessedCheckpoint).order_by(WitnessedCheckpoint.size.desc()).limit(1)
    ).first()


def held(engine: Engine) -> Held | None:
    """The newest checkpoint the witness verified, or None before the first."""
    with session_scope(engine) as session:
        row = _newest(session)
        if row is None:
            return None
        checkpoint = HeldCheckpoint(row.size, unb64url(row.root), row.note, _aware(row.seen_at))
        return Held(checkpoint, row.cosignature, row.delivered_at is not None)


def keep(
    engine: Engine,
    note: str,
    checkpoint: Checkpoint,
    proof: list[bytes],
    start: HeldCheckpoint | None,
    now: dt.datetime,
) -> bool:
    """Keep a verified ``checkpoint`` whose consistency proof starts at ``start``, only if
    ``start`` is still the newest held (compare-and-set); False: another round moved on."""
    before = start.size if start is not None else None
    same = WitnessState.held_size.is_(None) if before is None else WitnessState.held_size == before
    with session_scope(engine) as session:
        moved = session.execute(
            update(WitnessState).where(WitnessState.id == 1, same).values(held_size=checkpoint.size)
        )
        if not getattr(moved, "rowcount", 0):
            return False
        session.add(
            WitnessedCheckpoint(
                size=checkpoint.size,
                origin=checkpoint.origin,
                root=b64url(checkpoint.root),
                note=note,
                fetched_at=now,
                seen_at=now,
                from_size=before,
                consistency_proof=json.dumps([b64url(h) for h in proof]),
            )
        )
        return True


def seen(engine: Engine, size: int, now: dt.datetime) -> None:
    """The held checkpoint was DOV's newest again at ``now``."""
    with session_scope(engine) as session:
        row = session.get(WitnessedCheckpoint, size)
        assert row is not None
        row.seen_at = now


def cosign_newest(engine: Engine, cosigner: Cosigner) -> tuple[int, str, bool] | None:
    """C2SP tlog-cosignature: the newest held checkpoint's cosignature line, made now if it
    has none yet: (size, line, made now), or None when nothing is held."""
    with session_scope(engine) as session:
        row = _newest(session)
        if row is None:
            return None
        if row.cosignature is not None:
            return row.size, row.cosignature, False
        now = dt.datetime.now(dt.UTC)
        body = Checkpoint(row.origin, row.size, unb64url(row.root)).body()
        row.cosignature = cosigner.cosign(body, int(now.timestamp())).line()
        row.cosigned_at = now
        return row.size, row.cosignature, True


def delivered(engine: Engine, size: int, error: str | None) -> None:
    """DOV took our cosignature of ``size`` (``error`` None), or refused it (kept, retried)."""
    with session_scope(engine) as session:
        row = session.get(WitnessedCheckpoint, size)
        assert row is not None
        if error is None:
            row.delivered_at, row.delivery_error = dt.datetime.now(dt.UTC), None
        else:
            row.delivery_error = error[:400]


def refused(engine: Engine) -> str | None:
    """``FIRST SECOND``: the consistency proof DOV refused in an earlier round, if any."""
    with session_scope(engine) as session:
        return session.scalar(select(WitnessState.refused).where(WitnessState.id == 1))


def set_refused(engine: Engine, pair: str | None) -> None:
    with session_scope(engine) as session:
        session.execute(update(WitnessState).where(WitnessState.id == 1).values(refused=pair))


def silence(
    engine: Engine, answered: bool, stale: float, why: list[str], now: dt.datetime
) -> int | None:
    """Keep since when DOV's log has not answered a round in full; past ``[log] stale``
    seconds that is the alert ``onbereikbaar`` (one per silence, counted each round)."""
    with session_scope(engine) as session:
        state = session.get(WitnessState, 1)
        assert state is not None
        if answered or state.silent_since is None:
            state.silent_since = None if answered else now
            return None
        since = _aware(state.silent_since)
        if now - since <= dt.timedelta(seconds=stale):
            return None
        summary = (
            f"Het transparantielogboek van het Departement antwoordt sinds "
            f"{since.isoformat(timespec='seconds')} niet meer volledig (langer dan [log] stale, "
            f"{int(stale)} s): geen checkpoint of geen bewijs dat het verder bouwt. Een "
            "logboek dat niet antwoordt, kan niemand controleren."
        )
        evidence = {"silent_since": since.isoformat(), "problems": why}
        about = f"silent since {since.isoformat()}"
        return keep_alert(session, "onbereikbaar", about, summary, evidence)[0]
