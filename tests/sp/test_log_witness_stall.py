"""Issue 12 §3: a DOV that stalls or refuses is reported, never waited for for ever.

DOV runs behind a real HTTP proxy on loopback (``log_proxy``) that answers chosen paths with
400 or 503 itself; DOV and the portal are the real ones. "As if time went by" is a shorter
``[log] stale`` (the margin after ``grace`` and the silence allowed).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from dataclasses import replace
from pathlib import Path

import httpx
from sqlalchemy import select, update

from leerid.idp.store.tlog.checkpoints import log_signer
from leerid.idp.store.tlog.tables import TlogCosignature
from leerid.sp.kit.log_alerts import list_alerts
from leerid.sp.kit.log_client import b64url, unb64url
from leerid.sp.kit.log_receipts import receipts
from leerid.sp.kit.log_tables import WitnessedCheckpoint, WitnessState
from leerid.sp.kit.log_witness import RoundReport
from leerid.sp.kit.provider import ServiceProvider
from leerid.store.engine import session_scope
from leerid.testing.browser import Browser
from leerid.transparency.checkpoint import Checkpoint, sign_checkpoint
from leerid.transparency.rfc9162 import consistency_path, leaf_hash, root_from_leaves
from tests.sp.log_proxy import LogProxy
from tests.sp.witness_world import ORIGIN, PATIENCE, World, witness_world

CONSISTENCY, INCLUSION, CHECKPOINT = (
    "/v1/log/proof/consistency",
    "/v1/log/proof/inclusion",
    "/v1/log/checkpoint",
)


def login(world: World) -> None:
    pupil = world.idp.pupil
    assert Browser().lars_login(world.url, pupil.username, pupil.password).status_code == 200


def proxy(world: World) -> LogProxy:
    assert world.proxy is not None
    return world.proxy


def held_sizes(world: World) -> list[int]:
    with session_scope(world.provider.engine) as session:
        return list(session.scalars(select(WitnessedCheckpoint.size)))


def kinds(world: World) -> list[str]:
    return sorted(a.kind for a in list_alerts(world.provider.engine))


def time_went_by(world: World) -> None:
    """As if more than ``[log] stale`` went by: every deadline and silence is past."""
    settings = world.provider.settings
    shorter = replace(settings, log=replace(settings.log, stale=0))
    world.provider = ServiceProvider(shorter, world.provider.engine)


def test_a_consistency_proof_failing_then_refused(database_url: str, tmp_path: Path) -> None:
    """A 503 is an outage: said each round, the alert "onbereikbaar" only once DOV has been
    silent longer than ``[log] stale``. A 400 between two sizes DOV signed: asked again in
    the next round, then "inconsistent". Nothing is cosigned meanwhile."""
    with witness_world(database_url, tmp_path, proxied=True) as world:
        login(world)
        first = world.integrated()
        assert world.round().cosigned
        login(world)
        assert world.integrated().size > first.size
        before = held_sizes(world)

        proxy(world).fail(CONSISTENCY, 503)
        for _ in range(2):
            report = world.round()
            assert not report.cosigned and report.alerts == [] and held_sizes(world) == before
            assert any("503" in problem for problem in report.problems)
        with session_scope(world.provider.engine) as session:  # silent for two hours
            since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
            session.execute(update(WitnessState).values(silent_since=since))
        (silent,) = world.round().alerts
        assert kinds(world) == ["onbereikbaar"]

        proxy(world).fail(CONSISTENCY, 400)
        report = world.round()
        assert any("asked again next round" in p for p in report.problems)
        assert kinds(world) == ["onbereikbaar"] and held_sizes(world) == before
        report = world.round()  # the second refusal, in a later round
        assert kinds(world) == ["inconsistent", "onbereikbaar"] and not report.cosigned
        (fork,) = [a for a in list_alerts(world.provider.engine) if a.kind == "inconsistent"]
        assert "400" in fork.evidence["refusal"] and fork.evidence["held"]

        proxy(world).clear()  # DOV answers again: the proof verifies, the silence ends
        report = world.round()
        assert report.new_checkpoint and report.cosigned and silent not in report.alerts


def test_one_refused_leaf_does_not_stop_the_others(database_url: str, tmp_path: Path) -> None:
    """A 400 for the token's leaf is kept on it, the userinfo's is proven in the same
    round; past its deadline the refused one is "ontbrekend" with DOV's answer."""
    with witness_world(database_url, tmp_path, proxied=True) as world:
        login(world)
        world.integrated()
        token = receipts(world.provider.engine)[0]
        assert token["endpoint"] == "token"
        refuse = token["leaf_hash"]
        proxy(world).fail(INCLUSION, 400, only=lambda r: r.query_params.get("hash") == refuse)
        report = world.round()
        assert report.proven == 1 and report.alerts == []
        assert any(f"disclosure {token['id']}" in p for p in report.problems)
        kept = receipts(world.provider.engine)
        assert [r["status"] for r in kept] == ["pending", "proven"] and "400" in kept[0]["error"]
        assert world.round().alerts == []  # before its deadline it waits

        time_went_by(world)
        (alert_id,) = world.round().alerts
        (alert,) = list_alerts(world.provider.engine)
        assert alert.id == alert_id and alert.kind == "ontbrekend"
        assert [r["status"] for r in receipts(world.provider.engine)] == ["ontbrekend", "proven"]
        assert "400" in alert.evidence["disclosures"][0]["error"]


def test_entries_that_never_appear(database_url: str, tmp_path: Path) -> None:
    """DOV stops serving checkpoints after a login (503): no round can prove the login's
    disclosures. Past their deadline they are "ontbrekend", and DOV's silence
    "onbereikbaar": one alert for both disclosures, one for the silence."""
    with witness_world(database_url, tmp_path, proxied=True) as world:
        world.integrated()
        proxy(world).fail(CHECKPOINT, 503)
        login(world)
        report = world.round()
        assert report.alerts == [] and report.proven == 0 and report.problems
        assert [r["status"] for r in receipts(world.provider.engine)] == ["pending", "pending"]

        time_went_by(world)
        report = world.round()
        assert len(report.alerts) == 2 and kinds(world) == ["onbereikbaar", "ontbrekend"]
        statuses = [r["status"] for r in receipts(world.provider.engine)]
        assert statuses == ["ontbrekend", "ontbrekend"]
        (missing,) = [a for a in list_alerts(world.provider.engine) if a.kind == "ontbrekend"]
        assert len(missing.evidence["disclosures"]) == 2


def test_inclusion_proofs_failing_past_the_deadline(database_url: str, tmp_path: Path) -> None:
    """A 503 on every inclusion proof: the round says so and asks no further; past the
    deadline the disclosures are "ontbrekend" whatever DOV answers."""
    with witness_world(database_url, tmp_path, proxied=True) as world:
        login(world)
        world.integrated()
        proxy(world).fail(INCLUSION, 503)
        report = world.round()
        assert report.cosigned and report.alerts == [] and report.proven == 0
        assert any("inclusion proofs" in p and "503" in p for p in report.problems)
        time_went_by(world)
        (alert_id,) = world.round().alerts
        assert [r["status"] for r in receipts(world.provider.engine)] == [
            "ontbrekend",
            "ontbrekend",
        ]
        assert [a.id for a in list_alerts(world.provider.engine)] == [alert_id]


def _fork(world: World, size: int) -> tuple[str, list[str]]:
    """A checkpoint of ``size + 1`` signed with DOV's key whose tree adds a forged leaf to
    DOV's first ``size`` entries, and its (valid) consistency proof from ``size``."""
    served = httpx.get(
        f"{world.idp.issuer}/v1/log/entries", params={"start": 0, "end": size}
    ).json()["entries"]
    leaves = [leaf_hash(unb64url(e["entry"])) for e in served]
    forged = [*leaves, leaf_hash(b"an entry only this witness is shown")]
    checkpoint = Checkpoint(ORIGIN, size + 1, root_from_leaves(forged))
    note = sign_checkpoint(checkpoint, log_signer(world.dov, ORIGIN))
    return note, [b64url(h) for h in consistency_path(size, forged)]


def test_two_rounds_at_once_never_cosign_two_forks(database_url: str, tmp_path: Path) -> None:
    """C2SP tlog-witness: a round slower than its lease runs next to the next round. Round A
    is shown a fork of size n+1 (consistent with the held n) and waits for its proof; round
    B keeps DOV's real n+2 meanwhile. A's fork is dropped, not kept, not cosigned."""
    with witness_world(database_url, tmp_path, proxied=True) as world:
        login(world)
        world.integrated()
        assert world.round().cosigned
        (size,) = held_sizes(world)
        note, proof = _fork(world, size)
        arrived, go = threading.Event(), threading.Event()
        proxy(world).serve(CHECKPOINT, 200, note, "text/plain; charset=utf-8")
        proxy(world).hold(CONSISTENCY, arrived, go)
        slow: list[RoundReport] = []
        first = threading.Thread(target=lambda: slow.append(world.round()))
        first.start()
        assert arrived.wait(PATIENCE), "round A never asked its consistency proof"
        proxy(world).rules.pop(CHECKPOINT)
        with session_scope(world.provider.engine) as session:  # A's lease ran out
            past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
            session.execute(update(WitnessState).values(lease_until=past))
        login(world)
        real = world.integrated()
        fast = world.round()
        assert fast.new_checkpoint and fast.cosigned and fast.size == real.size > size + 1

        body = json.dumps({"first": size, "second": size + 1, "proof": proof})
        proxy(world).serve(CONSISTENCY, 200, body, "application/json")
        go.set()
        first.join(PATIENCE)
        (late,) = slow
        assert not late.new_checkpoint and not late.cosigned and late.alerts == []
        assert any("dropped" in problem for problem in late.problems)
        assert held_sizes(world) == [size, real.size]
        with world.dov.connect() as conn:
            cosigned = sorted(conn.scalars(select(TlogCosignature.size)))
        assert size + 1 not in cosigned and real.size in cosigned
