"""Who hears of what (issue 10, point 3): DOV's changes, made by the real commands, reach the
entitled clients only, as verified SETs; two publishers never duplicate or skip a change.

Client A receives the seeded pupil's data by a real login; client B, bound to the same
protocol, never received it. Both backends, a real provider on loopback.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leerid.idp.store.clients import add_client
from leerid.idp.store.disclosures import record_disclosure
from leerid.idp.store.endings import find_ending
from leerid.idp.store.event_publisher import publish
from leerid.idp.store.event_retention import purge_events
from leerid.idp.store.events import SecurityEvent
from leerid.idp.store.keys import KeyRing
from leerid.protocol import content_hash, load_protocol
from leerid.registry.changes import Change, ChangeKind, DovChange, record_change
from leerid.registry.insz import check_insz
from leerid.registry.merge import merge_pupils
from leerid.store.engine import make_engine
from leerid.testing.discimus import Enrolled, RegistryPupil, import_pupils
from tests.conftest import run_leerid
from tests.idp.events_kit import drain, event_of, events_token
from tests.idp.flow import full_login
from tests.idp_server import (
    PROTOCOL_FILE,
    REDIRECT_URI,
    SCHOOL,
    RunningIdp,
    random_insz,
    running_idp,
    seed_pupil,
)

MERGED = "urn:leerid:event:pupils-merged"
IDENTIFIED = "urn:leerid:event:account-identified"
ENDED = "urn:leerid:event:protocol-ended"
DELETED = "urn:leerid:event:account-deleted"
IN_FORCE = "urn:leerid:event:protocol-version-in-force"


@dataclass
class World:
    idp: RunningIdp
    b_id: str
    b_secret: str

    def sets(self, client: str) -> list[dict[str, Any]]:
        """Client A's or B's pending SETs, verified and acknowledged."""
        if client == "A":
            return drain(self.idp, events_token(self.idp))
        token = events_token(self.idp, self.b_id, self.b_secret)
        return drain(self.idp, token, self.b_id)

    def kinds(self, client: str) -> list[str]:
        return [event_of(s)[0] for s in self.sets(client)]

    def env(self) -> dict[str, str]:
        return {**os.environ, "LEERID_DATABASE_URL": self.idp.database_url, "COLUMNS": "250"}


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    with running_idp(database_url) as idp:
        engine = make_engine(database_url)
        b, secret = add_client(
            engine, name="B", protocol_id=idp.seed.protocol_id, redirect_uris=[REDIRECT_URI]
        )
        engine.dispose()
        assert secret is not None
        rp, _, auth, location = full_login(idp)  # art. 3: A receives the pupil's data
        rp.fetch_token(location, auth.verifier)
        found = World(idp, b.client_id, secret)
        assert IN_FORCE in found.kinds("A") and IN_FORCE in found.kinds("B")  # art. 11
        yield found


def _merge_into_seeded(world: World) -> str:
    """Merge a second pupil into the seeded one (``leerid registry merge``'s function)."""
    other = seed_pupil(world.idp.database_url)
    engine = make_engine(world.idp.database_url)
    with Session(engine) as session, session.begin():
        merge_pupils(
            session,
            keep=world.idp.pupil.leer_id_uuid,
            absorb=other.leer_id_uuid,
            operator="helpdesk",
            reason="one pupil, two records",
        )
    engine.dispose()
    return other.leer_id_uuid


def test_a_merge_reaches_the_client_that_received_the_pupil_only(world: World) -> None:
    absorbed = _merge_into_seeded(world)
    (merged,) = world.sets("A")
    kind, body = event_of(merged)
    assert kind == MERGED
    assert body["kept_leer_id_uuid"] == world.idp.pupil.leer_id_uuid
    assert body["absorbed_leer_id_uuid"] == absorbed
    assert merged["sub_id"] == {"format": "opaque", "id": absorbed}
    assert world.sets("B") == []  # art. 4: B never received the pupil


def test_an_identification_reaches_the_receivers_of_the_temporary_account(world: World) -> None:
    engine = make_engine(world.idp.database_url)
    referte = f"T-{uuid.uuid4().hex[:12]}"
    enrolled = (Enrolled(SCHOOL, dt.date.today() - dt.timedelta(days=10)),)
    insz = random_insz()
    born = check_insz(insz, dt.date.today()).birth_date or dt.date(2012, 5, 1)
    (temporary,) = import_pupils(
        engine, [RegistryPupil(referte, "Peeters", "An", born, None, enrolled)]
    )
    temp_account = temporary.accounts[0][0]
    with engine.begin() as conn:  # A received the pupil under the temporary account
        record_disclosure(
            conn,
            client_id=world.idp.client_id,
            endpoint="token",
            claims=["ov_account_uuid"],
            leer_id_uuid=None,
            account_uuid=temp_account,
            at=dt.datetime.now(dt.UTC),
            protocol_id=world.idp.seed.protocol_id,
            protocol_hash=None,
        )
    (identified,) = import_pupils(
        engine, [RegistryPupil(referte, "Peeters", "An", born, insz, enrolled)]
    )
    engine.dispose()
    (event,) = world.sets("A")
    kind, body = event_of(event)
    assert kind == IDENTIFIED
    assert body["leer_id_uuid"] == identified.leer_id_uuid
    permanent = [a for a, status in identified.accounts if status == "permanent"]
    assert body["account_uuid"] == permanent[0]
    assert body["historiek_account_uuid"] == [temp_account]
    assert world.sets("B") == []


def test_an_end_reaches_every_client_and_then_only_removals_go_out(world: World) -> None:
    done = run_leerid(
        [
            "protocol",
            "terminate",
            world.idp.seed.protocol_id,
            "--reason",
            "breach",
            "--operator",
            "dpo-dov",
        ],
        world.env(),
    )
    assert done.returncode == 0, done.stderr
    listed = run_leerid(["protocol", "list"], world.env()).stdout
    assert f"notice of the end to client {world.idp.client_id}: not published" in listed
    (a_end,) = world.sets("A")
    assert event_of(a_end)[0] == ENDED
    assert event_of(a_end)[1]["kind"] == "terminated" and event_of(a_end)[1]["reason"] == "breach"
    listed = run_leerid(["protocol", "list"], world.env()).stdout
    assert f"notice of the end to client {world.idp.client_id}: acknowledged" in listed
    assert f"notice of the end to client {world.b_id}: pending" in listed
    assert world.kinds("B") == [ENDED]
    engine = make_engine(world.idp.database_url)
    with Session(engine) as session:
        ending = find_ending(session, world.idp.seed.protocol_id)
        assert ending is not None and ending.notified_at is not None
    _merge_into_seeded(world)  # art. 11: no pupil change under an ended protocol ...
    with Session(engine) as session, session.begin():
        change = Change(  # ... but removals still go out (retention and destruction)
            ChangeKind.ACCOUNT_DELETED,
            leer_id_uuid=world.idp.pupil.leer_id_uuid,
            payload={
                "leer_id_uuid": world.idp.pupil.leer_id_uuid,
                "account_uuids": [],
                "reason": "deleted at DOV",
            },
        )
        record_change(session, change)
    engine.dispose()
    assert world.kinds("A") == [DELETED]
    assert world.kinds("B") == []


def test_a_new_version_signed_by_both_reaches_every_client(world: World, tmp_path: Any) -> None:
    amended = tmp_path / "amended.yaml"
    text = PROTOCOL_FILE.read_text(encoding="utf-8")
    amended.write_text(text.replace("place: Brussel", "place: Brussel (gewijzigd)"), "utf-8")
    env = world.env()
    assert run_leerid(["protocol", "add", str(amended)], env).returncode == 0
    pid = world.idp.seed.protocol_id
    for party, signer in (("dov", "Ann Verhaegen"), ("recipient", "Stefan Grielens")):
        done = run_leerid(
            [
                "protocol",
                "attest",
                pid,
                "--version",
                "2",
                "--party",
                party,
                "--signer",
                signer,
                "--signed-at",
                "2025-01-06",
                "--document-sha256",
                "ab" * 32,
                "--operator",
                "test",
            ],
            env,
        )
        assert done.returncode == 0, done.stderr
        if party == "dov":
            assert world.sets("A") == []  # art. 11: one signature does not make it in force
    for client in ("A", "B"):
        (event,) = world.sets(client)
        kind, body = event_of(event)
        assert kind == IN_FORCE and body["version"] == 2
        assert body["content_sha256"] == content_hash(load_protocol(amended))
        assert body["text"] == amended.read_text(encoding="utf-8")
        assert {s["kind"] for s in body["signatures"]} == {"attestation"}


def test_a_closed_report_reaches_its_reporter(world: World) -> None:
    idp = world.idp
    sent = httpx.post(
        f"{idp.issuer}/v1/quality-reports",
        data={
            "pupil_key": idp.pupil.account_uuid,
            "attribute": "family_name",
            "problem": "verouderd",
            "comment": "nieuwe naam",
        },
        auth=(idp.client_id, idp.client_secret),
    )
    assert sent.status_code in (200, 201), sent.text
    code = sent.json()["id"]
    done = run_leerid(["reports", "close", code, "--resolution", "verbeterd"], world.env())
    assert done.returncode == 0, done.stderr
    (event,) = world.sets("A")
    kind, body = event_of(event)
    assert kind == "urn:leerid:event:quality-report-status"
    assert (body["code"], body["status"], body["resolution"]) == (code, "gesloten", "verbeterd")
    assert world.sets("B") == []


def test_two_publishers_neither_duplicate_nor_skip(database_url: str) -> None:
    """Four publishers and a writer whose transactions stay open a while, at once."""
    with running_idp(database_url) as idp:
        engine = make_engine(database_url, pool_size=10)
        add_client(engine, name="B", protocol_id=idp.seed.protocol_id, redirect_uris=[REDIRECT_URI])
        ring = KeyRing(engine, 3600, 5)
        stop = threading.Event()
        errors: list[BaseException] = []

        def write() -> None:
            for i in range(60):
                with Session(engine) as session, session.begin():
                    change = Change(
                        ChangeKind.PROCESSOR_LIST_REQUESTED,
                        protocol_id=idp.seed.protocol_id,
                        payload={"requested_at": str(i)},
                    )
                    record_change(session, change)
                    if i % 3 == 0:
                        stop.wait(0.02)  # committed after later ids on PostgreSQL

        def run() -> None:
            try:
                while not stop.is_set():
                    publish(engine, lambda: ring.signing_key("RS256"), idp.issuer, limit=7)
            except BaseException as exc:
                errors.append(exc)

        writers = [threading.Thread(target=write) for _ in range(2)]
        publishers = [threading.Thread(target=run) for _ in range(4)]
        for t in writers + publishers:
            t.start()
        for t in writers:
            t.join()
        stop.set()
        for t in publishers:
            t.join()
        assert errors == []
        while publish(engine, lambda: ring.signing_key("RS256"), idp.issuer).changes:
            pass
        with Session(engine) as session:
            kind = ChangeKind.PROCESSOR_LIST_REQUESTED.value
            ids = set(session.scalars(select(DovChange.id).where(DovChange.kind == kind)))
            sent = Counter(
                (row[0], row[1])
                for row in session.execute(
                    select(SecurityEvent.change_id, SecurityEvent.client_id).where(
                        SecurityEvent.change_id.in_(ids)
                    )
                )
            )
        assert len(ids) == 120
        assert len(sent) == 240 and set(sent.values()) == {1}  # each change, each client, once
        purged = purge_events(engine, dt.datetime.now(dt.UTC) + dt.timedelta(days=91))
        assert purged.unacknowledged == 240 + 2 and purged.changes >= 120
        with Session(engine) as session:
            assert session.scalar(select(func.count()).select_from(SecurityEvent)) == 0
        engine.dispose()
