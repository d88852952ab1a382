"""Issue 12 §3: LARS witnesses DOV's transparency log (real DOV, real portal, loopback).

A round cosigns a checkpoint it verified, and DOV then serves it with LARS's cosignature; a
login through the portal leaves the disclosures it received, which get their inclusion
proof once DOV integrated them.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx
from sqlalchemy import select

from leerid.sp.kit.log_client import unb64url
from leerid.sp.kit.log_receipts import prune_proofs, receipts
from leerid.sp.kit.log_tables import ReceivedDisclosure, WitnessedCheckpoint
from leerid.sp.kit.log_witness import witness_facts, witness_vkey
from leerid.store.engine import session_scope
from leerid.testing.browser import Browser
from leerid.transparency.cosignature import verify_cosignature
from leerid.transparency.entries import decode_entry
from leerid.transparency.note import Note
from leerid.transparency.rfc9162 import leaf_hash, verify_inclusion
from tests.conftest import run_leerid
from tests.sp.witness_world import World, witness_world


def login(world: World) -> None:
    pupil = world.idp.pupil
    page = Browser().lars_login(world.url, pupil.username, pupil.password)
    assert page.status_code == 200, page.text


def kept(world: World) -> list[ReceivedDisclosure]:
    with session_scope(world.provider.engine) as session:
        rows = list(session.scalars(select(ReceivedDisclosure).order_by(ReceivedDisclosure.id)))
        session.expunge_all()
        return rows


def test_a_round_cosigns_and_dov_serves_our_cosignature(database_url: str, tmp_path: Path) -> None:
    with witness_world(database_url, tmp_path) as world:
        login(world)
        received = kept(world)
        assert [r.endpoint for r in received] == ["token", "userinfo"]
        assert all(r.leaf_hash and r.status == "pending" for r in received)
        assert "sub" in received[0].claims.split() and "nonce" not in received[0].claims
        checkpoint = world.integrated()

        report = world.round()
        assert report.problems == [] and report.alerts == []
        assert report.size == checkpoint.size and report.new_checkpoint and report.cosigned
        assert report.delivered and report.proven == 2

        # DOV now serves the checkpoint with LARS's cosignature (C2SP tlog-cosignature)
        served, note = world.checkpoint()
        assert served.size == checkpoint.size
        with session_scope(world.provider.engine) as session:
            held = session.get(WitnessedCheckpoint, checkpoint.size)
            assert held is not None and held.cosignature is not None
            line = held.cosignature
        assert line in note.splitlines()
        (ours,) = [s for s in Note.parse(note).signatures if s.line() == line]
        assert verify_cosignature(ours, served.body(), witness_vkey(world.provider)) > 0

        # the proofs kept verify against the held checkpoint, and the entries are ours
        for row in receipts(world.provider.engine, "proven"):
            index = row["index"]
            proof = [unb64url(h) for h in row["proof"]]
            leaf = unb64url(row["leaf_hash"])
            verify_inclusion(leaf, index, row["size"], proof, served.root)
            served_entries = httpx.get(
                f"{world.idp.issuer}/v1/log/entries", params={"start": index, "end": index + 1}
            ).json()["entries"]
            entry = unb64url(served_entries[0]["entry"])  # not kept by LARS (art. 3)
            assert leaf_hash(entry) == leaf
            assert decode_entry(entry).fields["client"] == world.idp.client_id

        again = world.round()
        assert not again.new_checkpoint and not again.cosigned and again.problems == []
        facts = dict(witness_facts(world.provider))  # art. 6: in `leerid sp evidence`
        assert (
            f"medeondertekend tot grootte {checkpoint.size}"
            in facts["Transparantielogboek van het Departement"]
        )
        assert facts["Bewijzen van opname van ontvangen mededelingen"] == "2"


def test_the_next_checkpoint_extends_the_held_one(database_url: str, tmp_path: Path) -> None:
    """A second login grows the log: the round verifies consistency, keeps the proof and
    cosigns the larger checkpoint; the kit keeps every checkpoint it cosigned."""
    with witness_world(database_url, tmp_path) as world:
        login(world)
        first = world.integrated()
        world.round()
        login(world)
        second = world.integrated()
        assert second.size > first.size
        report = world.round()
        assert report.new_checkpoint and report.cosigned and report.alerts == []
        assert report.proven == 2
        with session_scope(world.provider.engine) as session:
            rows = session.scalars(select(WitnessedCheckpoint).order_by(WitnessedCheckpoint.size))
            sizes = [
                (r.size, r.from_size, bool(json.loads(r.consistency_proof or "[]"))) for r in rows
            ]
        assert sizes[0] == (first.size, None, False)
        assert sizes[-1][0] == second.size and sizes[-1][1] is not None and sizes[-1][2]
        # the daily job, past [privacy_log] keep: proofs go, the newest checkpoint stays
        later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        assert prune_proofs(world.provider.engine, later) == (4, len(sizes) - 1)
        assert receipts(world.provider.engine) == []
        assert world.round().problems == []


def test_the_witness_commands(
    database_url: str, tmp_path: Path, leerid_env: dict[str, str]
) -> None:
    """`leerid sp log witness-key`, `witness --json`, `receipts --json`, `alerts`."""
    with witness_world(database_url, tmp_path) as world:
        config = str(world.provider.settings.path)
        key = run_leerid(["sp", "log", "witness-key", "--config", config], leerid_env)
        assert key.returncode == 0 and key.stdout.strip() == witness_vkey(world.provider)
        login(world)
        world.integrated()
        done = run_leerid(["sp", "log", "witness", "--json", "--config", config], leerid_env)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["proven"] == 2
        export = run_leerid(["sp", "log", "receipts", "--json", "--config", config], leerid_env)
        assert [r["status"] for r in json.loads(export.stdout)] == ["proven", "proven"]
        quiet = run_leerid(["sp", "log", "alerts", "--config", config], leerid_env)
        assert quiet.returncode == 0 and "no alerts" in quiet.stdout
