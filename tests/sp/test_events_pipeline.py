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
from sqlalchemy import select
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
            answers = session.scalars(
                select(PrivacyLogEntry.detail)
                .where(PrivacyLogEntry.action == "melding_status")
                .order_by(PrivacyLogEntry.seq)
            ).all()
            applied = session.scalars(select(AppliedEvent.jti)).all()
        assert [json.loads(a)["nr"] for a in answers] == codes  # the order DOV made them in
        assert len(applied) == len(set(applied)) == 10
        assert _sync(lars).applied == 0
