"""Issue 12 §3: the witness mends and tolerates what is not an attack: a round that stopped
between keeping and cosigning, a stale copy of an older checkpoint, an answer without end.

DOV runs behind a real HTTP proxy on loopback (``log_proxy``); DOV and the portal are real.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import delete, select, update
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from leerid.idp.store.tlog.tables import TlogCosignature
from leerid.sp.kit.log_alerts import list_alerts
from leerid.sp.kit.log_client import MAX_NOTE
from leerid.sp.kit.log_tables import WitnessedCheckpoint
from leerid.store.engine import session_scope
from leerid.testing.browser import Browser
from tests.sp.witness_world import World, witness_world

CHECKPOINT = "/v1/log/checkpoint"


def login(world: World) -> None:
    pupil = world.idp.pupil
    assert Browser().lars_login(world.url, pupil.username, pupil.password).status_code == 200


def cosigned_at_dov(world: World) -> list[int]:
    with world.dov.connect() as conn:
        return sorted(conn.scalars(select(TlogCosignature.size)))


def test_a_kept_checkpoint_without_cosignature_is_cosigned_next_round(
    database_url: str, tmp_path: Path
) -> None:
    """A round that stopped after keeping (killed between the two transactions) left the
    newest held checkpoint without our cosignature: the next round makes and hands it."""
    with witness_world(database_url, tmp_path) as world:
        login(world)
        world.integrated()
        first = world.round()
        assert first.cosigned and first.size is not None
        login(world)
        newest = world.integrated()
        assert world.round().new_checkpoint
        with session_scope(world.provider.engine) as session:  # as a crash would leave it
            session.execute(
                update(WitnessedCheckpoint)
                .where(WitnessedCheckpoint.size == newest.size)
                .values(cosignature=None, cosigned_at=None, delivered_at=None)
            )
        with world.dov.begin() as conn:
            conn.execute(delete(TlogCosignature).where(TlogCosignature.size == newest.size))
        report = world.round()
        assert not report.new_checkpoint and report.cosigned and report.delivered
        assert newest.size in cosigned_at_dov(world)
        assert not world.round().cosigned  # once


def test_a_stale_copy_of_an_older_checkpoint_is_no_alert(database_url: str, tmp_path: Path) -> None:
    """A cache in front of DOV serves the older checkpoint after we held a newer one: it is
    consistent with the held one (RFC 9162 §2.1.4.2, from the smaller to the larger), so
    neither an alert nor a cosignature, and the held one stays."""
    with witness_world(database_url, tmp_path, proxied=True) as world:
        login(world)
        older, older_note = world.checkpoint_when_integrated()
        assert world.round().cosigned
        login(world)
        world.integrated()
        newer = world.round()
        assert newer.new_checkpoint and newer.size is not None and newer.size > older.size
        assert world.proxy is not None
        world.proxy.serve(CHECKPOINT, 200, older_note, "text/plain; charset=utf-8")
        report = world.round()
        assert report.alerts == [] and report.problems == [] and not report.cosigned
        assert report.size == newer.size and list_alerts(world.provider.engine) == []


def test_a_checkpoint_without_end_is_not_read_past_its_limit(
    database_url: str, tmp_path: Path
) -> None:
    """An answer that never ends is read as it streams and given up past ``MAX_NOTE``."""
    with witness_world(database_url, tmp_path, proxied=True) as world:
        assert world.proxy is not None

        async def endless(request: Request) -> AsyncIterator[bytes]:
            chunk = b"x" * 4096
            for _ in range(1 << 20):  # 4 GiB: more than a witness that reads it all can hold
                if await request.is_disconnected():  # the witness gave up: so does DOV
                    return
                yield chunk

        async def answer(request: Request) -> Response | None:
            return StreamingResponse(endless(request), media_type="text/plain")

        world.proxy.rules[CHECKPOINT] = answer
        report = world.round()
        assert not report.cosigned and report.alerts == []
        assert any(f"over {MAX_NOTE} bytes" in problem for problem in report.problems)
