"""Issue 12 §5: the "bewijs" of each line of ``/op/v1/mijn-gegevens``, over HTTP on both
backends: real logins release data (the provider appends their entries), ``leerid log
integrate`` puts them in a signed checkpoint, a witness cosigns it, and the pupil downloads
receipts that ``leerid log check-receipt`` (the real command) accepts; a tampered receipt is
refused, another pupil's leaf is the same 404 as an unknown one, and the logs name no leaf.

The provider's own integrator is held back (an interval of an hour), so that the test, not
the clock, decides when entries reach a checkpoint."""

from __future__ import annotations

import base64
import json
import os
import re
import time
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from leerid.idp.store.models import Disclosure
from leerid.idp.store.tlog.tables import TlogTile
from leerid.store.engine import make_engine
from leerid.testing.browser import Browser
from leerid.transparency.checkpoint import Checkpoint
from leerid.transparency.cosignature import Cosigner
from leerid.transparency.entries import decode_entry
from leerid.transparency.note import Note
from leerid.transparency.receipt import check_receipt
from tests.conftest import run_leerid
from tests.reports.helpers import log_in
from tests.reports.pupil_world import PupilWorld, pupil_world
from tests.reports.test_my_data import logged_in

HELD_BACK = {
    "LEERID_TLOG_INTERVAL": "3600",
    "LEERID_TLOG_LEASE": "7200",
    "LEERID_LOG_LEVEL": "info",  # the lines the test reads for leaves and accounts
}
_RECEIPT_LINK = re.compile(r'<a href="([^"]*/mijn-gegevens/bewijs/[^"]+)" download>')
_FILENAME = re.compile(r'attachment; filename="bewijs-\d{4}-\d{2}-\d{2}-([a-z0-9-]+)\.json"')


@pytest.fixture
def world(database_url: str) -> Iterator[PupilWorld]:
    with pupil_world(database_url, HELD_BACK) as built:
        yield built


def cli_env(world: PupilWorld, tmp_path: Path) -> dict[str, str]:
    """``leerid`` on the provider's database, under its issuer (so: its log's origin)."""
    return {
        **os.environ,
        "LEERID_HOME": str(tmp_path / "home"),
        "LEERID_DATABASE_URL": world.idp.database_url,
        "LEERID_ISSUER": world.idp.issuer,
    }


def leerid(args: list[str], env: dict[str, str], *, status: int = 0) -> str:
    done = run_leerid(args, env)
    assert done.returncode == status, done.stdout + done.stderr
    return done.stdout


def my_leaves(world: PupilWorld) -> list[bytes]:
    """The leaf hashes of the world pupil's releases, as the provider recorded them."""
    engine = make_engine(world.idp.database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            select(Disclosure.log_leaf).where(
                Disclosure.account_uuid.in_([world.temporary_account, world.permanent_account])
            )
        ).scalars()
        leaves = [bytes(leaf) for leaf in rows if leaf is not None]
    engine.dispose()
    return leaves


def receipt_url(world: PupilWorld, leaf: bytes) -> str:
    text = base64.urlsafe_b64encode(leaf).rstrip(b"=").decode()
    return f"{world.idp.issuer}/v1/mijn-gegevens/bewijs/{text}"


def cosign_newest(world: PupilWorld, env: dict[str, str]) -> str:
    """A witness (the LARS client) registered with DOV cosigns the newest checkpoint over
    HTTP, as the kit's witness does (C2SP tlog-cosignature); its vkey."""
    witness = Cosigner("lars.test/witness", bytes(range(32)))
    leerid(["log", "witness", "add", "--client", world.idp.client_id, "--key", witness.vkey], env)
    note = Note.parse(httpx.get(f"{world.idp.issuer}/v1/log/checkpoint").text)
    size = Checkpoint.parse(note.text).size
    line = witness.cosign(note.text, int(time.time())).line()
    sent = httpx.post(
        f"{world.idp.issuer}/v1/log/cosignature",
        params={"size": size},
        content=line.encode(),
        headers={"Content-Type": "text/plain"},
        auth=(world.idp.client_id, world.idp.client_secret),
    )
    assert sent.status_code == 204, sent.text
    return witness.vkey


def download(browser: Browser, url: str) -> tuple[httpx.Response, dict[str, Any]]:
    answer = browser.http.get(url)
    assert answer.status_code == 200, answer.text
    return answer, json.loads(answer.text)


def test_the_pupil_downloads_receipts_that_anyone_checks_offline(
    world: PupilWorld, tmp_path: Path
) -> None:
    env = cli_env(world, tmp_path)
    browser, page = logged_in(world)
    # appended with each release, not yet in a checkpoint: no link, a word of patience
    assert page.text.count("Het bewijs is over enkele seconden klaar") == 2
    assert not _RECEIPT_LINK.search(page.text)
    (first, *_) = my_leaves(world)
    waiting = browser.http.get(receipt_url(world, first))
    assert waiting.status_code == 503 and waiting.headers["retry-after"] == "1"
    assert "over enkele seconden klaar" in waiting.text

    assert "checkpoint" in leerid(["log", "integrate"], env)
    witness_vkey = cosign_newest(world, env)
    log_vkey = leerid(["log", "key"], env).strip()
    discovery = httpx.get(f"{world.idp.issuer}/.well-known/openid-configuration").json()
    assert discovery["leerid_log_vkey"] == log_vkey  # where a checker finds the key to pin
    page = browser.open(f"{world.idp.issuer}/v1/mijn-gegevens")
    links = [unescape(href) for href in _RECEIPT_LINK.findall(page.text)]
    assert len(links) == 2 and "over enkele seconden klaar" not in page.text
    services = set()
    for href in links:
        answer, document = download(browser, str(httpx.URL(str(page.url)).join(href)))
        assert answer.headers["content-type"] == "application/json"
        assert answer.headers["cache-control"] == "no-store"
        name = _FILENAME.fullmatch(answer.headers["content-disposition"])
        assert name is not None, answer.headers["content-disposition"]
        services.add(name.group(1))
        checked = check_receipt(document, log_vkey, [witness_vkey])
        assert checked.ok and checked.witnessed, checked.lines
        assert document["witnesses"] == [witness_vkey]
        entry = decode_entry(base64.urlsafe_b64decode(document["entry"] + "=="))
        assert entry.kind == "disclosure" and entry.fields["outcome"] == "released"
        assert entry.fields["client"] in {world.idp.client_id, world.other_id}
        text = json.dumps(document)  # no name, no account, no Leer_id_uuid: a pseudonym
        for secret in (world.permanent_account, world.temporary_account, world.leer_id_uuid):
            assert secret not in text
    assert services == {"lars-test", "rekenplatform"}

    saved = tmp_path / "bewijs.json"
    saved.write_text(answer.text, encoding="utf-8")
    pinned = ["--key", log_vkey, "--witness", witness_vkey]
    checked_out = leerid(["log", "check-receipt", str(saved), *pinned], env)
    assert "this receipt is valid" in checked_out and "cosignature valid" in checked_out
    entry = json.loads(base64.urlsafe_b64decode(document["entry"] + "=="))
    other_claims = dict(entry, claims=[*entry["claims"], "rrn"])
    forged = json.dumps(other_claims, sort_keys=True, separators=(",", ":")).encode()
    for tampered in (
        dict(document, index=document["index"] ^ 1),
        dict(document, entry=base64.urlsafe_b64encode(forged).rstrip(b"=").decode()),
    ):
        saved.write_text(json.dumps(tampered), encoding="utf-8")
        refused = run_leerid(["log", "check-receipt", str(saved), "--key", log_vkey], env)
        assert refused.returncode == 1 and "inclusion proof invalid" in refused.stdout
        assert "does NOT prove the entry" in refused.stderr

    # issue 12 §5: a download is logged, without its leaf or the pupil's account
    log_text = world.idp.server.log_text()
    assert log_text.count("receipt downloaded") == 2
    assert log_text.count('"GET /op/v1/mijn-gegevens/bewijs/- HTTP/1.1" 200') == 2
    for leaf in my_leaves(world):
        assert base64.urlsafe_b64encode(leaf).rstrip(b"=").decode() not in log_text
    assert world.permanent_account not in log_text


def test_a_release_from_before_the_log_has_no_receipt(world: PupilWorld, tmp_path: Path) -> None:
    leerid(["log", "integrate"], cli_env(world, tmp_path))
    engine = make_engine(world.idp.database_url)
    with engine.begin() as conn:  # as a record written before issue 12 is
        conn.execute(
            update(Disclosure)
            .where(Disclosure.account_uuid == world.temporary_account)
            .values(log_leaf=None)
        )
    engine.dispose()
    _browser, page = logged_in(world)
    assert page.text.count("Geen bewijs (van vóór het logboek)") == 1
    assert len(_RECEIPT_LINK.findall(page.text)) == 1


def test_only_the_pupils_own_leaves_give_a_receipt(world: PupilWorld, tmp_path: Path) -> None:
    leerid(["log", "integrate"], cli_env(world, tmp_path))
    other = world.idp.seed.pupil  # another pupil, with a release of their own
    log_in(
        world.idp.issuer,
        world.idp.client_id,
        world.idp.client_secret,
        other.username,
        other.password,
    )
    leerid(["log", "integrate"], cli_env(world, tmp_path))
    theirs = Browser()
    form = theirs.open(f"{world.idp.issuer}/v1/mijn-gegevens")
    page = theirs.follow(
        theirs.submit(form, {"username": other.username, "password": other.password})
    )
    (own_href,) = _RECEIPT_LINK.findall(page.text)
    assert theirs.http.get(httpx.URL(str(page.url)).join(unescape(own_href))).status_code == 200

    unknown = theirs.http.get(receipt_url(world, bytes(32)))
    assert unknown.status_code == 404
    for leaf in my_leaves(world):  # the world pupil's: integrated, in a checkpoint, not theirs
        foreign = theirs.http.get(receipt_url(world, leaf))
        assert (foreign.status_code, foreign.text) == (404, unknown.text)
    for malformed in ("x", "A" * 42, "A" * 44, "A" * 42 + "=", "A" * 42 + "."):
        answer = theirs.http.get(f"{world.idp.issuer}/v1/mijn-gegevens/bewijs/{malformed}")
        assert answer.status_code == 404
    # without a LeerID session: the login form, and nothing about the leaf
    (leaf, *_) = my_leaves(world)
    nobody = httpx.get(receipt_url(world, leaf))
    assert nobody.status_code == 200 and 'name="password"' in nobody.text
    assert "Content-Disposition" not in nobody.headers


def test_a_tampered_tree_gives_no_receipt(world: PupilWorld, tmp_path: Path) -> None:
    """A receipt is checked before it leaves: tiles edited in the database give none."""
    leerid(["log", "integrate"], cli_env(world, tmp_path))
    engine = make_engine(world.idp.database_url)
    with engine.begin() as conn:
        (hashes,) = conn.execute(
            select(TlogTile.hashes).where(TlogTile.level == 0, TlogTile.idx == 0)
        ).one()
        forged = bytes(b ^ 0xFF for b in hashes)
        conn.execute(
            update(TlogTile).where(TlogTile.level == 0, TlogTile.idx == 0).values(hashes=forged)
        )
    engine.dispose()
    browser, page = logged_in(world)
    (href, *_) = _RECEIPT_LINK.findall(page.text)
    answer = browser.http.get(str(httpx.URL(str(page.url)).join(unescape(href))))
    assert answer.status_code == 500 and "kan dit bewijs nu niet maken" in answer.text
    assert "Content-Disposition" not in answer.headers
    assert "receipt not made" in world.idp.server.log_text()
