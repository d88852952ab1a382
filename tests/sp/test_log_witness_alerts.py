"""Issue 12 §3: what the witness finds wrong with DOV's log becomes an alert, kept with its
evidence and sent to both DPOs (art. 9), and nothing wrong is ever cosigned.

DOV is tampered with as an attacker with its database and its log key would: a checkpoint
signed by another key, another root signed for a size already published, a tile changed
before the next checkpoint is signed by DOV's own integrator.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import replace
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, update

from leerid.idp.store.notices import list_notices
from leerid.idp.store.tlog.checkpoints import log_signer
from leerid.idp.store.tlog.tables import TlogCheckpoint, TlogCosignature, TlogTile
from leerid.sp.kit.log_alerts import get_alert, list_alerts
from leerid.sp.kit.log_receipts import receipts, record_received
from leerid.sp.kit.log_received import Received
from leerid.sp.kit.log_tables import ReceivedDisclosure, WitnessedCheckpoint
from leerid.sp.kit.provider import ServiceProvider
from leerid.store.engine import session_scope
from leerid.testing.browser import Browser
from leerid.transparency.checkpoint import Checkpoint, sign_checkpoint
from leerid.transparency.note import Ed25519Signer
from tests.sp.witness_world import ORIGIN, World, witness_world

OUR_DPO, DOV_DPO = "dpo@lars.example", "dpo@ond.example"


def login(world: World) -> None:
    pupil = world.idp.pupil
    assert Browser().lars_login(world.url, pupil.username, pupil.password).status_code == 200


def held(world: World) -> list[tuple[int, str]]:
    with session_scope(world.provider.engine) as session:
        rows = session.scalars(select(WitnessedCheckpoint).order_by(WitnessedCheckpoint.size))
        return [(r.size, r.root) for r in rows]


def publish(world: World, checkpoint: Checkpoint, signer: Ed25519Signer) -> None:
    """DOV's newest checkpoint row replaced by ``checkpoint`` signed by ``signer``."""
    with world.dov.begin() as conn:
        conn.execute(
            update(TlogCheckpoint)
            .where(TlogCheckpoint.size == checkpoint.size)
            .values(root=checkpoint.root, note=sign_checkpoint(checkpoint, signer))
        )


def our_cosignatures(world: World) -> list[int]:
    with world.dov.connect() as conn:
        return sorted(conn.scalars(select(TlogCosignature.size)))


def test_a_bad_signature_and_a_fork_at_the_same_size(database_url: str, tmp_path: Path) -> None:
    with witness_world(database_url, tmp_path) as world:
        login(world)
        good = world.integrated()
        assert world.round().cosigned
        before = held(world)

        # a checkpoint signed with another key under DOV's name: alert "handtekening"
        impostor = Ed25519Signer(ORIGIN, Ed25519PrivateKey.generate())
        publish(world, Checkpoint(ORIGIN, good.size, good.root), impostor)
        report = world.round()
        (signature_alert,) = report.alerts
        assert not report.cosigned and held(world) == before
        alert = get_alert(world.provider.engine, signature_alert)
        assert alert.kind == "handtekening" and "note" in alert.evidence

        # another root for the size we cosigned, signed with DOV's own key: "inconsistent"
        other = hashlib.sha256(b"another history").digest()
        publish(world, Checkpoint(ORIGIN, good.size, other), log_signer(world.dov, ORIGIN))
        report = world.round()
        (fork_alert,) = report.alerts
        assert not report.cosigned and held(world) == before
        fork = get_alert(world.provider.engine, fork_alert)
        assert fork.kind == "inconsistent"
        assert fork.evidence["new"].count(base64.b64encode(other).decode()) == 1
        assert base64.b64encode(good.root).decode() in fork.evidence["held"]
        assert "AVG art. 33" in _mail_text(world, fork_alert)  # the DPO decides: a breach?

        # met again: one alert, counted, not sent again
        assert world.round().alerts == [fork_alert]
        assert get_alert(world.provider.engine, fork_alert).times_seen == 2
        assert our_cosignatures(world) == [size for size, _ in before]  # only sound ones
        assert len(world.mail_to(OUR_DPO)) == 2
        notices = [n for n in list_notices(world.dov) if n.kind == "logboek"]
        assert len(notices) == 2 and all(n.client_id == world.idp.client_id for n in notices)
        assert any("inconsistent" in n.text for n in notices)
        assert len(world.mail_to(DOV_DPO)) == 2


def _mail_text(world: World, alert_id: int) -> str:
    mails = [m for m in world.mail_to(OUR_DPO) if f"alarm {alert_id}:" in m["Subject"]]
    return bytes(mails[0].get_payload(decode=True)).decode() if mails else ""


def test_a_tile_changed_before_the_next_checkpoint(database_url: str, tmp_path: Path) -> None:
    """DOV's integrator signs a checkpoint over a changed leaf: its consistency proof with the
    held checkpoint fails (RFC 9162 §2.1.4.2), the witness keeps both notes and the proof."""
    with witness_world(database_url, tmp_path) as world:
        login(world)
        first = world.integrated()
        world.round()
        before = held(world)  # the portal's own first round may have kept a smaller one
        with world.dov.begin() as conn:
            hashes = conn.scalar(select(TlogTile.hashes).where(TlogTile.level == 0))
            assert hashes is not None
            changed = bytes([hashes[0] ^ 1]) + bytes(hashes[1:])
            conn.execute(
                update(TlogTile)
                .where(TlogTile.level == 0, TlogTile.idx == 0)
                .values(hashes=changed)
            )
        login(world)
        second = world.integrated()
        report = world.round()
        (alert_id,) = report.alerts
        alert = get_alert(world.provider.engine, alert_id)
        assert alert.kind == "inconsistent" and alert.evidence["proof"]
        assert f"\n{second.size}\n" in alert.evidence["new"]
        assert f"\n{first.size}\n" in alert.evidence["held"]
        assert not report.cosigned and held(world) == before
        assert our_cosignatures(world) == [size for size, _ in before]
        assert [a.id for a in list_alerts(world.provider.engine)] == [alert_id]
        assert "leerid sp breaches add" in _mail_text(world, alert_id)


def test_disclosures_the_log_does_not_show_as_received(database_url: str, tmp_path: Path) -> None:
    """While DOV's log stands still: a leaf DOV does not have, or none at all: "ontbrekend";
    an entry that names other claims than we received, or a leaf DOV already named for
    another disclosure (one entry for two logins): "afwijkend". One alert for the round,
    listing each disclosure with its evidence: one mail, not four."""
    with witness_world(database_url, tmp_path) as world:
        login(world)
        world.integrated()
        assert world.round().proven == 2
        now = dt.datetime.now(dt.UTC)
        with session_scope(world.provider.engine) as session:
            token, userinfo = session.scalars(
                select(ReceivedDisclosure).order_by(ReceivedDisclosure.id)
            ).all()
            stranger = base64.urlsafe_b64encode(hashlib.sha256(b"x").digest()).rstrip(b"=")
            token.claims = " ".join(sorted([*token.claims.split(), "insz"]))
            token.status = "pending"
            again = Received("userinfo", tuple(userinfo.claims.split()), now, userinfo.leaf_hash)
        # DOV names the userinfo's leaf for a later login too: kept as its duplicate
        assert record_received(world.provider, [again]) == 1
        for leaf in (stranger.decode(), None):
            assert record_received(world.provider, [Received("token", ("sub",), now, leaf)])
        report = world.round()  # DOV signed nothing new: the held checkpoint was seen again
        assert not report.new_checkpoint and report.problems == []
        assert report.proven == 0 and len(report.alerts) == 1
        kept = receipts(world.provider.engine)
        assert [r["status"] for r in kept] == [
            "afwijkend",
            "proven",
            "afwijkend",
            "ontbrekend",
            "ontbrekend",
        ]
        assert kept[2]["duplicate_of"] == kept[1]["id"] and kept[2]["leaf_hash"] is None
        (alert,) = list_alerts(world.provider.engine)
        assert alert.kind == "ontbrekend" and alert.id == report.alerts[0]
        assert {r["alert"] for r in kept if r["status"] != "proven"} == {alert.id}
        assert "insz" in alert.summary and f"nr. {kept[1]['id']}" in alert.summary
        listed = alert.evidence["disclosures"]
        assert [d["receipt"] for d in listed] == [kept[i]["id"] for i in (0, 2, 3, 4)]
        assert listed[0]["answer"]["entry"]  # the entry, kept as evidence
        assert len(world.mail_to(OUR_DPO)) == 1
        assert world.round().alerts == []  # a disclosure is judged once


def test_a_disclosure_waits_for_its_grace(database_url: str, tmp_path: Path) -> None:
    """``[log] grace``: a disclosure newer than that against the held checkpoint waits."""
    with witness_world(database_url, tmp_path, grace=3600) as world:
        login(world)
        world.integrated()
        report = world.round()
        assert report.cosigned and report.proven == 0 and report.alerts == []
        settings = world.provider.settings  # the grace over: as if an hour went by
        shorter = replace(settings, log=replace(settings.log, grace=0))
        world.provider = ServiceProvider(shorter, world.provider.engine)
        assert world.round().proven == 2
