"""Applying verified Security Event Tokens: one handler per event type, each SET applied in
the transaction that writes its privacy-log entry (art. 6) and records its ``jti``.

A ``jti`` applied before is acknowledged and not applied again (RFC 8936 §2.4: a SET is
delivered again until acknowledged). A batch is applied in one transaction; when anything in
it fails, each SET is applied in a transaction of its own, in order: a malformed one is
rejected (``setErrs``) and the next one applied; at one that failed for another reason (the
database) the batch stops, and it and every SET after it are ``unprocessed``: not
acknowledged, asked for again in order (``events_client``), so no change of DOV's overtakes
an earlier one (art. 3: a merge and a deletion of the same pupil give another outcome in
the other order).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Engine, Table, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from leerid.sp.kit import privacy_log, pupil_batches, pupil_events, set_verify
from leerid.sp.kit.dov_reports import apply_dov_report
from leerid.sp.kit.models import AppliedEvent
from leerid.sp.kit.notices import apply_notice_ack, apply_processor_request
from leerid.sp.kit.set_verify import SetRejected, VerifiedSet
from leerid.sp.kit.signed_protocol import store_end, store_version
from leerid.store import bulk
from leerid.store.engine import session_scope

log = logging.getLogger("leerid.sp.events")
_APPLIED = cast(Table, AppliedEvent.__table__)

Handler = Callable[[Session, Mapping[str, Any], Mapping[str, Any]], None]
"""``(session, claims, event)``: apply one event inside the caller's transaction."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _version(session: Session, _claims: Mapping[str, Any], event: Mapping[str, Any]) -> None:
    store_version(session, event, _now())


def _end(session: Session, _claims: Mapping[str, Any], event: Mapping[str, Any]) -> None:
    store_end(session, event, _now())


def _strict(handler: Handler) -> Handler:
    """A handler whose malformed event is rejected (``setErrs``), never retried forever."""

    def apply(session: Session, claims: Mapping[str, Any], event: Mapping[str, Any]) -> None:
        try:
            handler(session, claims, event)
        except (KeyError, TypeError, ValueError) as exc:
            raise SetRejected("invalid_request", f"malformed event: {type(exc).__name__}") from None

    return apply


HANDLERS: dict[str, Handler] = {
    set_verify.PROTOCOL_VERSION_IN_FORCE: _version,  # art. 11
    set_verify.PROTOCOL_ENDED: _end,  # art. 8, 11
    set_verify.ACCOUNT_IDENTIFIED: pupil_events.account_identified,  # art. 3
    set_verify.PUPILS_MERGED: pupil_events.pupils_merged,  # art. 3
    set_verify.ACCOUNT_DELETED: pupil_events.account_deleted,  # art. 3
    set_verify.ACCOUNT_PURGED: pupil_events.account_deleted,  # art. 3 (DOV's retention)
    set_verify.QUALITY_REPORT_STATUS: pupil_events.report_status,  # art. 7
    set_verify.QUALITY_REPORT: _strict(apply_dov_report),  # art. 7, DOV -> recipient
    set_verify.PROCESSOR_LIST_REQUESTED: _strict(apply_processor_request),  # art. 6
    set_verify.NOTICE_ACKNOWLEDGED: _strict(apply_notice_ack),  # art. 9
}
"""Event type URI → handler; every type of ``set_verify.EVENT_TYPES`` has one."""


@dataclass
class Applied:
    """What became of a batch: jtis to acknowledge, to report in ``setErrs``, and not
    processed (a SET that failed for another reason than its content, and every SET after
    it: they must come again, in their order)."""

    acknowledge: list[str] = field(default_factory=list)
    applied: int = 0
    duplicates: int = 0
    errors: dict[str, SetRejected] = field(default_factory=dict)
    failed: int = 0
    unprocessed: list[str] = field(default_factory=list)

    def add(self, other: Applied) -> None:
        self.acknowledge += other.acknowledge
        self.applied += other.applied
        self.duplicates += other.duplicates
        self.errors.update(other.errors)
        self.failed += other.failed
        self.unprocessed += other.unprocessed


def _fresh(session: Session, items: list[VerifiedSet], result: Applied) -> list[VerifiedSet]:
    """The items not applied before (one query), each jti once; the others are acknowledged
    (RFC 8936 §2.4: delivered again; acknowledge, do not redo)."""
    jtis = sorted({item.jti for item in items})
    seen: set[str] = set()
    for condition in bulk.keys_in(session, AppliedEvent.jti, jtis):
        seen.update(session.scalars(select(AppliedEvent.jti).where(condition)))
    fresh: list[VerifiedSet] = []
    for item in items:
        if item.jti in seen:
            result.duplicates += 1
            result.acknowledge.append(item.jti)
            continue
        seen.add(item.jti)
        fresh.append(item)
    return fresh


def _apply_batch(session: Session, items: list[VerifiedSet], result: Applied) -> None:
    """Apply ``items`` in order inside the caller's transaction."""
    fresh = _fresh(session, items, result)
    if not fresh:
        return
    now = _now()
    # a second process applying the same jti fails here (the last guard)
    bulk.insert_rows(
        session,
        _APPLIED,
        [
            {"jti": i.jti, "txn": i.txn, "event_type": i.event_type, "applied_at": now}
            for i in fresh
        ],
    )
    for run in pupil_batches.runs(fresh):
        if run[0].event_type not in pupil_batches.RUN_TYPES:
            HANDLERS[run[0].event_type](session, run[0].claims, run[0].event)
            continue
        session.flush()  # the ORM's pending work first; the run is written with Core
        pupil_batches.apply_run(session, run)
        session.flush()
        session.expire_all()  # records the run changed are read again when needed
    result.applied += len(fresh)
    result.acknowledge += [item.jti for item in fresh]


def apply_sets(engine: Engine, items: list[VerifiedSet]) -> Applied:
    """Apply ``items`` (oldest first): the batch in one transaction, else one by one."""
    result = Applied()
    try:
        with session_scope(engine) as session:
            _apply_batch(session, items, result)
        return result
    except Exception:  # isolate the SET that failed; the others are applied below
        if len(items) == 1:
            return _apply_alone(engine, items[0])
    result = Applied()
    for index, item in enumerate(items):
        result.add(_apply_alone(engine, item))
        if result.unprocessed:  # nothing after a SET that failed is applied before it
            result.unprocessed += [later.jti for later in items[index + 1 :]]
            result.failed += len(items) - index - 1
            break
    return result


def _apply_alone(engine: Engine, item: VerifiedSet) -> Applied:
    result = Applied()
    try:
        with session_scope(engine) as session:
            _apply_batch(session, [item], result)
    except SetRejected as exc:
        reject(engine, item.jti, item.event_type, exc)
        return Applied(errors={item.jti: exc})
    except IntegrityError:  # another process applied it at this moment
        return Applied(acknowledge=[item.jti], duplicates=1)
    except Exception as exc:  # not acknowledged: asked for again (events_client)
        log.warning("event %s (%s) not applied: %s", item.jti, item.event_type, type(exc).__name__)
        return Applied(failed=1, unprocessed=[item.jti])
    return result


def reject(engine: Engine, jti: str, event_type: str, exc: SetRejected) -> None:
    """A rejected SET is never applied; it is logged (its type and jti, no personal data)
    and reported back in ``setErrs`` (RFC 8935 §2.4 codes)."""
    log.warning("event %s rejected (%s): %s", jti, event_type, exc.err)
    privacy_log.record(
        engine,
        actor="systeem",
        action="gebeurtenis_geweigerd",
        purpose="protocol art. 6: bericht van het Departement geweigerd en niet toegepast",
        detail={"jti": jti[:64], "soort": event_type[:120], "fout": exc.err},
    )


def forget_applied(engine: Engine, older_than: dt.datetime, batch: int = 1000) -> int:
    """Drop applied jtis older than the max age (no SET that old is accepted any more)."""
    total = 0
    while True:
        with session_scope(engine) as session:
            jtis = list(
                session.scalars(
                    select(AppliedEvent.jti)
                    .where(AppliedEvent.applied_at < older_than)
                    .limit(batch)
                )
            )
            if jtis:
                session.execute(delete(AppliedEvent).where(AppliedEvent.jti.in_(jtis)))
        total += len(jtis)
        if len(jtis) < batch:
            return total
