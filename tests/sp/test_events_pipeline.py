"""The kit's sync in a pipeline (the next poll out while a batch is applied): every SET
applied once and in the order DOV made the changes, whatever the batch boundaries, against a
real provider that delivers an unacknowledged SET again after its period (the default, 30 s)
or on every poll (``LEERID_EVENTS_REDELIVER_SECONDS=0``)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from leerid.idp.store.events import PENDING, SecurityEvent
from leerid.registry.changes import Change, ChangeKind, record_change
from leerid.sp.kit import events_client
from leerid.sp.kit.events_client import EventsClient, SyncResult
from leerid.sp.kit.models import AppliedEvent, PrivacyLogEntry
from leerid.sp.kit.relying_party import RelyingParty
from leerid.store.engine import make_engine, session_scope
from tests.sp.lars_world import Lars, lars_world


def _report_answers(lars: Lars, count: int) -> list[str]:
    """``count`` answers of DOV to reports of this recipient (art. 7), in this order."""
    engine = make_engine(lars.idp.database_url)
    codes = [f"DQ-{time.monotonic_ns() % 10**8:08d}{i:02d}" for i in range(count)]
    with Session(engine) as session, session.begin():
        for code in codes:
            payload = {"code": code, "status": "gesloten", "resolution": "ok", "closed_at": None}
            change = Change(
                ChangeKind.QUALITY_REPORT_STATUS, client_id=lars.idp.client_id, payload=payload
            )
            record_change(session, change)
    engine.dispose()
    return codes


def _sync(lars: Lars) -> SyncResult:
    async def run() -> SyncResult:
        rp = RelyingParty(lars.provider.settings)
        try:
            result = await EventsClient(lars.provider.settings, lars.provider.engine, rp).sync()
        finally:
            await rp.aclose()
        assert result is not None
        return result

    return asyncio.run(run())


def _answers_in_log(lars: Lars) -> list[str]:
    """The reports whose answers LARS applied, in the order of its privacy log (art. 6)."""
    with session_scope(lars.provider.engine) as session:
        details = session.scalars(
            select(PrivacyLogEntry.detail)
            .where(PrivacyLogEntry.action == "melding_status")
            .order_by(PrivacyLogEntry.seq)
        ).all()
    return [json.loads(detail)["nr"] for detail in details]


def _pending_at_dov(lars: Lars) -> int:
    engine = make_engine(lars.idp.database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(SecurityEvent.jti).where(
                SecurityEvent.client_id == lars.idp.client_id, SecurityEvent.state == PENDING
            )
        ).all()
    engine.dispose()
    return len(rows)


@pytest.mark.parametrize("redeliver", ["30", "0"])
def test_a_pipelined_sync_applies_every_set_once_in_order(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redeliver: str
) -> None:
    env = {"LEERID_EVENTS_REDELIVER_SECONDS": redeliver}
    with lars_world(database_url, tmp_path, poll_interval=0, idp_env=env) as lars:
        _sync(lars)  # the version in force (art. 11) first
        codes = _report_answers(lars, 9)
        monkeypatch.setattr(events_client, "MAX_EVENTS", 2)  # five batches, four boundaries
        result = _sync(lars)
        assert (result.applied, result.rejected, result.failed) == (9, 0, 0)
        assert result.polls >= 5
        assert _pending_at_dov(lars) == 0  # every SET acknowledged
        with session_scope(lars.provider.engine) as session:
            applied = session.scalars(select(AppliedEvent.jti)).all()
        assert _answers_in_log(lars) == codes  # the order DOV made them in
        assert len(applied) == len(set(applied)) == 10
        assert _sync(lars).applied == 0


def _rename(engine: Engine, old: str, new: str) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(f"ALTER TABLE {old} RENAME TO {new}")


def test_a_sync_that_cannot_apply_stops_and_nothing_overtakes(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LARS's database refuses the writes (its privacy log is gone for a moment): the sync
    stops after the batch that applied nothing, acknowledges nothing, and sends back what it
    fetched (``leerid_redeliver``); the next sync applies every SET once, in DOV's order (a
    newer change never overtakes an older one, art. 3)."""
    with lars_world(database_url, tmp_path, poll_interval=0) as lars:
        _sync(lars)
        codes = _report_answers(lars, 6)
        monkeypatch.setattr(events_client, "MAX_EVENTS", 2)
        engine = lars.provider.engine
        _rename(engine, "sp_privacy_log", "sp_privacy_log_away")
        try:
            stalled = _sync(lars)
        finally:
            _rename(engine, "sp_privacy_log_away", "sp_privacy_log")
        assert (stalled.applied, stalled.failed) == (0, 2)  # the first batch, then it stops
        # three polls fetched the six SETs (pipelined), three sent them back two at a time
        assert stalled.polls == 6 and _pending_at_dov(lars) == 6
        resumed = _sync(lars)  # at once: the SETs sent back are due again, oldest first
        assert (resumed.applied, resumed.failed) == (6, 0) and _pending_at_dov(lars) == 0
        assert _answers_in_log(lars) == codes


def test_a_sync_after_a_process_that_stopped_gets_its_sets_first(
    database_url: str, tmp_path: Path
) -> None:
    """A process fetched SETs and stopped before answering (killed): the next sync asks for
    them again at once (``leerid_resend_unacknowledged``) and applies everything in DOV's
    order, though the redelivery period (30 s) has not passed."""
    with lars_world(database_url, tmp_path, poll_interval=0) as lars:
        _sync(lars)
        codes = _report_answers(lars, 4)

        async def fetch_and_stop() -> list[str]:
            rp = RelyingParty(lars.provider.settings)
            try:
                client = EventsClient(lars.provider.settings, lars.provider.engine, rp)
                endpoint = await client._endpoint()
                data = await client._poll(endpoint, {"maxEvents": 2, "returnImmediately": True})
            finally:
                await rp.aclose()
            return list(data["sets"])

        assert len(asyncio.run(fetch_and_stop())) == 2
        result = _sync(lars)
        assert (result.applied, result.duplicates) == (4, 0) and _pending_at_dov(lars) == 0
        assert _answers_in_log(lars) == codes
