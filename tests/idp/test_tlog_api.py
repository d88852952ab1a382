"""Issue 12 §2 to §3: DOV's log over HTTP, against a real provider on loopback whose own
integrator loop integrates and signs; entries appended as the append does. Both backends."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, text

from leerid.idp.store.tlog.witnesses import add_witness
from leerid.store.engine import make_engine
from leerid.transparency.checkpoint import open_checkpoint
from leerid.transparency.cosignature import Cosigner
from leerid.transparency.note import Note, Verifier
from leerid.transparency.rfc9162 import (
    leaf_hash,
    root_from_leaves,
    verify_consistency,
    verify_inclusion,
)
from tests.idp import tlog_kit
from tests.idp_server import RunningIdp, running_idp

FAST = {"LEERID_TLOG_INTERVAL": "0.2", "LEERID_TLOG_LEASE": "2"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@pytest.fixture(scope="module")
def idp(module_database_url: str) -> Iterator[RunningIdp]:
    with running_idp(module_database_url, more_env=FAST) as running:
        yield running


@pytest.fixture(scope="module")
def db(idp: RunningIdp) -> Iterator[Engine]:
    engine = make_engine(idp.database_url)
    yield engine
    engine.dispose()


def log_key(idp: RunningIdp) -> Verifier:
    doc = httpx.get(f"{idp.issuer}/.well-known/openid-configuration").json()
    assert doc["leerid_log_checkpoint_endpoint"] == f"{idp.issuer}/v1/log/checkpoint"
    return Verifier.from_vkey(doc["leerid_log_vkey"])


def checkpoint_with(idp: RunningIdp, size: int) -> str:
    """The newest checkpoint once it holds at least ``size`` entries (the server's loop
    signs one within a round or two)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        answer = httpx.get(f"{idp.issuer}/v1/log/checkpoint")
        if answer.status_code == 200 and int(answer.text.split("\n")[1]) >= size:
            return answer.text
        time.sleep(0.1)
    raise AssertionError(f"no checkpoint of {size} entries: {answer.status_code} {answer.text}")


@pytest.fixture(scope="module")
def bodies(idp: RunningIdp, db: Engine) -> list[bytes]:
    """Every entry's bytes by index, 300 of ours after the provider's own (the seeded
    protocol's version), all in a checkpoint."""
    tlog_kit.append(db, 300)
    with db.connect() as conn:
        total = conn.execute(text("SELECT count(*) FROM idp_tlog_entry")).scalar_one()
    checkpoint_with(idp, total)
    with db.connect() as conn:
        rows = conn.execute(text("SELECT idx, body FROM idp_tlog_entry ORDER BY idx")).all()
    assert [i for i, _ in rows] == list(range(total))
    return [bytes(body) for _, body in rows]


def test_the_checkpoint_is_a_signed_note_served_as_text(
    idp: RunningIdp, bodies: list[bytes]
) -> None:
    """C2SP tlog-tiles "Checkpoints": text/plain; charset=utf-8, cached a second at most."""
    answer = httpx.get(f"{idp.issuer}/v1/log/checkpoint")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/plain; charset=utf-8"
    assert answer.headers["cache-control"] == "max-age=1"
    checkpoint, _ = open_checkpoint(answer.text, log_key(idp))
    assert checkpoint.origin == idp.issuer.split("://", 1)[1] + "/log"
    assert checkpoint.size >= len(bodies)


def test_inclusion_by_index_and_by_hash_verify_against_the_checkpoint(
    idp: RunningIdp, bodies: list[bytes]
) -> None:
    """RFC 9162 §2.1.3: the proof from the tiles gives the signed root."""
    checkpoint, _ = open_checkpoint(checkpoint_with(idp, len(bodies)), log_key(idp))
    for index in (0, 1, 150, len(bodies) - 1):
        got = httpx.get(f"{idp.issuer}/v1/log/proof/inclusion", params={"index": index}).json()
        assert (got["index"], got["size"]) == (index, checkpoint.size)
        entry = unb64url(got["entry"])
        assert entry == bodies[index] and leaf_hash(entry) == unb64url(got["leaf_hash"])
        proof = [unb64url(h) for h in got["proof"]]
        verify_inclusion(leaf_hash(entry), index, checkpoint.size, proof, checkpoint.root)
    by_hash = httpx.get(
        f"{idp.issuer}/v1/log/proof/inclusion",
        params={"hash": b64url(leaf_hash(bodies[7])), "size": "100"},
    ).json()
    assert (by_hash["index"], by_hash["size"]) == (7, 100)


def test_consistency_between_checkpoints_verifies(idp: RunningIdp, db: Engine) -> None:
    """RFC 9162 §2.1.4: the newer checkpoint extends the older one."""
    key = log_key(idp)
    old, _ = open_checkpoint(checkpoint_with(idp, 1), key)
    tlog_kit.append(db, 3)
    new, _ = open_checkpoint(checkpoint_with(idp, old.size + 3), key)
    got = httpx.get(
        f"{idp.issuer}/v1/log/proof/consistency", params={"first": old.size, "second": new.size}
    ).json()
    assert (got["first"], got["second"]) == (old.size, new.size)
    proof = [unb64url(h) for h in got["proof"]]
    verify_consistency(old.size, new.size, old.root, new.root, proof)
    newest = httpx.get(f"{idp.issuer}/v1/log/proof/consistency", params={"first": 1}).json()
    assert newest["second"] >= new.size


def test_entries_by_range(idp: RunningIdp, bodies: list[bytes]) -> None:
    """Issue 12 §2: for auditors, start <= index < end, the entry bytes in base64url."""
    got = httpx.get(f"{idp.issuer}/v1/log/entries", params={"start": 10, "end": 13}).json()
    assert got == {"entries": [{"index": i, "entry": b64url(bodies[i])} for i in (10, 11, 12)]}


@pytest.mark.parametrize(
    ("path", "params", "reason"),
    [
        ("proof/inclusion", {"index": "999999"}, "beyond the newest checkpoint"),
        ("proof/inclusion", {"index": "-1"}, "negative"),
        ("proof/inclusion", {"index": "two"}, "whole number"),
        ("proof/inclusion", {"index": "5", "size": "5"}, "smaller than index 5 + 1"),
        ("proof/inclusion", {"index": "0", "size": "99999999"}, "beyond the newest checkpoint"),
        ("proof/inclusion", {}, "either index"),
        ("proof/inclusion", {"index": "1", "hash": "A" * 43}, "either index"),
        ("proof/inclusion", {"hash": "not-a-hash"}, "base64url"),
        ("proof/consistency", {"first": "20", "second": "10"}, "larger than second"),
        ("proof/consistency", {}, "first is required"),
        ("entries", {"start": "0", "end": "1001"}, "at most 1000"),
        ("entries", {"start": "5", "end": "5"}, "larger than start"),
        ("entries", {"start": "99999000", "end": "99999999"}, "beyond the newest checkpoint"),
        ("checkpoint", {"size": "1e3"}, "whole number"),
    ],
)
def test_bad_questions_get_a_400_with_the_reason(
    idp: RunningIdp, bodies: list[bytes], path: str, params: dict[str, str], reason: str
) -> None:
    """Issue 12: bad input is a 400 with the reason (and what to ask instead)."""
    got = httpx.get(f"{idp.issuer}/v1/log/{path}", params=params)
    assert got.status_code == 400, got.text
    assert got.json()["error"] == "invalid_request"
    assert reason in got.json()["error_description"]


def test_a_hash_not_in_a_checkpoint_is_a_404_saying_to_ask_again(
    idp: RunningIdp, bodies: list[bytes]
) -> None:
    got = httpx.get(
        f"{idp.issuer}/v1/log/proof/inclusion", params={"hash": b64url(leaf_hash(b"nothing"))}
    )
    assert got.status_code == 404
    assert got.json()["error"] == "not_found"
    assert "ask again after the next checkpoint" in got.json()["error_description"]


def test_a_parameter_with_a_control_character_is_refused_as_json(idp: RunningIdp) -> None:
    """The edge refuses it before the handler, in the endpoint's own (JSON) format."""
    got = httpx.get(f"{idp.issuer}/v1/log/proof/inclusion", params={"index": "1\x00"})
    assert got.status_code == 400 and got.json()["error"] == "invalid_request"


def post_cosignature(
    idp: RunningIdp, size: int, line: str, *, secret: str | None = None
) -> httpx.Response:
    return httpx.post(
        f"{idp.issuer}/v1/log/cosignature",
        params={"size": size},
        content=line.encode(),
        headers={"Content-Type": "text/plain; charset=utf-8"},
        auth=(idp.client_id, secret or idp.client_secret),
    )


def test_a_registered_witness_cosigns_and_the_checkpoint_carries_it(
    idp: RunningIdp, db: Engine, bodies: list[bytes]
) -> None:
    """C2SP tlog-cosignature: checked against the stored checkpoint, kept once, served with
    DOV's signature; refused from an unregistered witness, for another checkpoint, with a
    time in the future, malformed, or from an unauthenticated client."""
    older = int(checkpoint_with(idp, 300).split("\n")[1])
    tlog_kit.append(db, 1)
    note = checkpoint_with(idp, older + 1)
    size, body = int(note.split("\n")[1]), Note.parse(note).text
    cosigner = Cosigner("lars.witness.test", bytes(range(32)))
    line = cosigner.cosign(body, int(time.time())).line()
    refused = post_cosignature(idp, size, line)
    assert refused.status_code == 400 and "not a witness registered" in refused.text
    add_witness(db, None, idp.client_id, cosigner.vkey)
    assert post_cosignature(idp, size, line).status_code == 204
    assert post_cosignature(idp, size, line).status_code == 204  # again: nothing changes
    served = httpx.get(f"{idp.issuer}/v1/log/checkpoint", params={"size": size}).text
    assert line in served.split("\n")
    open_checkpoint(served, log_key(idp))  # DOV's signature still verifies
    assert served.count(line) == 1
    other = post_cosignature(idp, older, line)
    assert other.status_code == 400 and "does not verify" in other.text
    future = cosigner.cosign(body, int(time.time()) + 3600).line()
    assert "ahead" in post_cosignature(idp, size, future).text
    far = post_cosignature(idp, size, cosigner.cosign(body, 2**62).line())  # beyond datetime
    assert far.status_code == 400 and "ahead" in far.text
    assert "malformed" in post_cosignature(idp, size, "— lars.witness.test !!!").text
    assert post_cosignature(idp, size, line, secret="wrong").status_code == 401
    no_size = httpx.post(f"{idp.issuer}/v1/log/cosignature", content=line.encode())
    assert no_size.status_code == 400 and "size is required" in no_size.text
    as_form = httpx.post(
        f"{idp.issuer}/v1/log/cosignature",
        params={"size": size},
        data={"cosignature": line},
        auth=(idp.client_id, idp.client_secret),
    )
    assert as_form.status_code == 204


def test_twenty_witnesses_cosign_and_the_note_carries_the_first_fifteen(
    idp: RunningIdp, db: Engine, bodies: list[bytes]
) -> None:
    """C2SP signed-note: a verifier must accept 16 signatures and may refuse more, so the
    served note carries DOV's line and the 15 cosignatures received first, and opens."""
    before = int(httpx.get(f"{idp.issuer}/v1/log/checkpoint").text.split("\n")[1])
    tlog_kit.append(db, 1)  # after reading the size: a checkpoint that holds it is new
    note = checkpoint_with(idp, before + 1)
    size, body = int(note.split("\n")[1]), Note.parse(note).text
    lines = []
    for n in reversed(range(20)):  # received in the reverse order of their names
        cosigner = Cosigner(f"witness-{n:02}.test", bytes([n + 100]) * 32)
        add_witness(db, None, idp.client_id, cosigner.vkey)
        lines.append(cosigner.cosign(body, int(time.time())).line())
        assert post_cosignature(idp, size, lines[-1]).status_code == 204
    served = httpx.get(f"{idp.issuer}/v1/log/checkpoint", params={"size": size}).text
    parsed = Note.parse(served)  # would refuse a 17th signature
    assert len(parsed.signatures) == 16
    assert [line for line in served.split("\n") if line.startswith("— witness-")] == lines[:15]
    open_checkpoint(served, log_key(idp))
    assert httpx.get(f"{idp.issuer}/v1/log/checkpoint", params={"size": size}).text == served


def test_the_tiles_and_entry_bundles_of_c2sp_tlog_tiles(
    idp: RunningIdp, bodies: list[bytes]
) -> None:
    """C2SP tlog-tiles: a full tile, a partial one (a prefix of the stored row), the level
    above, an entry bundle (uint16 length-prefixed entries); immutable, octet-stream."""
    leaves = [leaf_hash(b) for b in bodies]  # at least 300
    full = httpx.get(f"{idp.issuer}/v1/log/tile/0/000")
    assert full.status_code == 200 and full.content == b"".join(leaves[:256])
    assert full.headers["content-type"] == "application/octet-stream"
    assert "immutable" in full.headers["cache-control"]
    partial = httpx.get(f"{idp.issuer}/v1/log/tile/0/001.p/44").content
    assert partial == b"".join(leaves[256:300])
    above = httpx.get(f"{idp.issuer}/v1/log/tile/1/000.p/1").content
    assert above == root_from_leaves(leaves[:256])
    bundle = httpx.get(f"{idp.issuer}/v1/log/tile/entries/000").content
    assert bundle == b"".join(len(b).to_bytes(2, "big") + b for b in bodies[:256])
    for bad in ("64/000", "0/1", "0/000.p/0", "0/000.p/256", "01/000", "x/000"):
        got = httpx.get(f"{idp.issuer}/v1/log/tile/{bad}")
        assert got.status_code == 400 and got.json()["error"] == "invalid_request", bad
    beyond = httpx.get(f"{idp.issuer}/v1/log/tile/0/x001/000")
    assert beyond.status_code == 404 and "not in the newest checkpoint" in beyond.text
    widest = httpx.get(f"{idp.issuer}/v1/log/tile/0/{'x999/' * 6}999")
    assert widest.status_code == 404 and "not in the newest checkpoint" in widest.text
    for many in (8, 2000):  # thousands of digits would overflow int(): a 400, never a 500
        got = httpx.get(f"{idp.issuer}/v1/log/tile/0/{'x123/' * (many - 1)}456")
        assert got.status_code == 400 and "at most 7 3-digit elements" in got.text, many
