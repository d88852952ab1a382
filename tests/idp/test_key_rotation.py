"""Issue 14 §4: signing keys that rotate by themselves, at the store and on the command line,
on each backend.

A next key pair is published ``ahead`` seconds before it signs and never signs earlier; its
predecessor signs until that moment and is published for the ID token lifetime more; a
rotation is done once per period however many nodes (here: threads) try at once; a second
``leerid keys rotate`` while a next key waits does nothing; ``--now`` signs at once.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import threading
import time

import pytest
from sqlalchemy import Engine, func, select

from leerid.errors import ConfigurationError
from leerid.idp.settings import IdpSettings
from leerid.idp.store.key_rotation import KeyRotator, check_interval, key_states
from leerid.idp.store.keys import KeyRing, ensure_keys, rotate_keys
from leerid.idp.store.models import IdpSigningKey
from tests.conftest import BACKENDS, run_leerid

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


def ring(engine: Engine, token_lifetime: int = 3600) -> KeyRing:
    return KeyRing(engine, token_lifetime, cache_seconds=0)


def kids(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(IdpSigningKey)) or 0)


def test_a_next_key_is_published_ahead_and_signs_only_from_its_moment(engine: Engine) -> None:
    ensure_keys(engine)
    keys = ring(engine)
    first = {alg: keys.signing_key(alg).kid for alg in ("RS256", "ES256")}
    done = rotate_keys(engine, ahead=1.5)
    assert len(done.new) == 2 and done.activates_at is not None
    published = {k["kid"] for k in keys.jwks()["keys"]}
    assert set(done.new) | set(first.values()) == published  # the next keys are in the set
    assert {keys.signing_key(a).kid for a in first} == set(first.values())  # not signing yet
    states = {s.kid: s.state for s in key_states(engine)}
    assert [states[k] for k in done.new] == ["next", "next"]
    again = rotate_keys(engine, ahead=1.5)  # idempotent while a next key waits
    assert again.new == [] and again.activates_at == done.activates_at
    time.sleep(max(0.0, (done.activates_at - dt.datetime.now(dt.UTC)).total_seconds()) + 0.05)
    assert {keys.signing_key(a).kid for a in first} == set(done.new)
    assert set(first.values()) <= {k["kid"] for k in keys.jwks()["keys"]}  # retired, published
    states = {s.kid: s.state for s in key_states(engine)}
    assert {states[k] for k in first.values()} == {"retired"}


def test_retired_keys_leave_the_set_after_the_id_token_lifetime(engine: Engine) -> None:
    ensure_keys(engine)
    old = ring(engine).signing_key("RS256").kid
    rotate_keys(engine, token_lifetime=1)  # at once (ahead 0)
    keys = ring(engine, token_lifetime=1)
    assert old in {k["kid"] for k in keys.jwks()["keys"]}
    time.sleep(1.1)
    assert old not in {k["kid"] for k in ring(engine, token_lifetime=1).jwks()["keys"]}
    later = rotate_keys(engine, token_lifetime=1, ahead=60)
    assert old in later.removed  # and a later rotation deletes it


def test_the_scheduled_rotation_waits_for_its_period(engine: Engine) -> None:
    rotate_keys(engine, now=NOW)  # the first pair, signing from NOW
    day = 86400.0
    early = NOW + dt.timedelta(days=30) - dt.timedelta(seconds=43001)
    assert rotate_keys(engine, ahead=43000, period=30 * day, now=early).new == []
    due = NOW + dt.timedelta(days=30) - dt.timedelta(seconds=43000)
    done = rotate_keys(engine, ahead=43000, period=30 * day, now=due)
    assert len(done.new) == 2
    assert done.activates_at == NOW + dt.timedelta(days=30)  # exactly one period later
    late = NOW + dt.timedelta(days=40)  # a node that was down: still only the one next key
    assert rotate_keys(engine, ahead=43000, period=30 * day, now=late).new == []
    after = NOW + dt.timedelta(days=90)  # nobody rotated for long: ahead from now, not before
    again = rotate_keys(engine, ahead=43000, period=30 * day, now=after)
    assert again.activates_at == after + dt.timedelta(seconds=43000)


def test_nodes_rotating_at_once_rotate_once(engine: Engine) -> None:
    ensure_keys(engine)
    start = threading.Barrier(4)
    made: list[int] = []

    def node() -> None:
        start.wait()
        made.append(len(rotate_keys(engine, ahead=30, period=1).new))

    threads = [threading.Thread(target=node) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(made) == [0, 0, 0, 2]
    assert kids(engine) == 4
    signing = [s for s in key_states(engine) if s.state == "signing"]
    assert sorted(s.kty for s in signing) == ["EC", "RSA"]


def test_the_loop_of_each_node_keeps_one_rotation_per_period(engine: Engine) -> None:
    ensure_keys(engine)
    rotators = [KeyRotator(engine, period=1.0, ahead=0.5, token_lifetime=3600) for _ in (1, 2)]
    assert check_interval(1.0) == 0.1 and check_interval(30 * 86400) == 60
    for r in rotators:
        r.start()
    time.sleep(2.2)  # a period and more: the first pair was due at 0.5 s and at 1.5 s
    for r in rotators:
        r.stop()
    rsa = sorted((s for s in key_states(engine) if s.kty == "RSA"), key=lambda s: s.created_at)
    assert len(rsa) in (3, 4)  # the first, one per elapsed period (at 0.5 s, 1.5 s)
    moments = [s.activates_at for s in rsa if s.activates_at is not None]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(moments[1:])]
    # one period apart (late by the loop's look at most), never two rotations in one period
    assert all(1.0 <= gap < 1.5 for gap in gaps), gaps


def test_emergency_rotation_signs_at_once(engine: Engine) -> None:
    ensure_keys(engine)
    leaked = ring(engine).signing_key("RS256").kid
    waiting = rotate_keys(engine, ahead=300).new  # a next key was published already
    done = rotate_keys(engine)  # --now
    keys = ring(engine)
    assert keys.signing_key("RS256").kid in done.new
    states = {s.kid: s.state for s in key_states(engine)}
    assert states[leaked] == "retired" and {states[k] for k in waiting} == {"retired"}


@pytest.mark.parametrize("database_url", [BACKENDS[-1]], indirect=True)  # four processes
def test_the_commands_say_what_they_did(leerid_env: dict[str, str], engine: Engine) -> None:
    ensure_keys(engine)
    env = {**leerid_env, "LEERID_KEY_PUBLISH_AHEAD_SECONDS": "43000"}
    said = run_leerid(["keys", "rotate"], env)
    assert said.returncode == 0, said.stderr
    assert "new signing keys: " in said.stdout and "they sign from " in said.stdout
    (moment,) = re.findall(r"the current keys keep signing until (\S+);", said.stdout)
    assert dt.datetime.fromisoformat(moment) > dt.datetime.now(dt.UTC) + dt.timedelta(hours=11)
    assert "use --now for a leaked key" in said.stdout  # an operator's runbook: not at once
    again = run_leerid(["keys", "rotate"], env)
    assert "published already" in again.stdout and kids(engine) == 4
    assert f"the current keys keep signing until {moment}" in again.stdout
    listed = json.loads(run_leerid(["keys", "list", "--json"], env).stdout)["keys"]
    assert len({k["kid"] for k in listed}) == 4
    assert sorted(k["state"] for k in listed) == ["next", "next", "signing", "signing"]
    assert all("d" not in k and "private_jwk" not in k for k in listed)
    now = run_leerid(["keys", "rotate", "--now"], env)
    assert "they sign at once" in now.stdout
    states = sorted(s.state for s in key_states(engine))
    assert states == ["retired"] * 4 + ["signing"] * 2


def test_the_settings_keep_the_head_start_between_cache_and_period(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert IdpSettings().key_rotation_period == 30 * 86400  # LEERID_KEY_ROTATION_DAYS 30
    monkeypatch.setenv("LEERID_KEY_ROTATION_SECONDS", "6")
    monkeypatch.setenv("LEERID_KEY_PUBLISH_AHEAD_SECONDS", "4")
    monkeypatch.setenv("LEERID_JWKS_MAX_AGE", "2")
    assert IdpSettings(cache_seconds=1).key_rotation_period == 6
    with pytest.raises(ConfigurationError) as late:
        IdpSettings(cache_seconds=2)  # 4 s ahead: not more than a client's 2 + a node's 2
    for name in ("LEERID_KEY_PUBLISH_AHEAD_SECONDS", "LEERID_JWKS_MAX_AGE", "LEERID_CACHE_SECONDS"):
        assert name in str(late.value)
    monkeypatch.setenv("LEERID_KEY_PUBLISH_AHEAD_SECONDS", "6")
    with pytest.raises(ConfigurationError, match="LEERID_KEY_PUBLISH_AHEAD_SECONDS"):
        IdpSettings(cache_seconds=1)  # the period must be longer than the head start
    monkeypatch.setenv("LEERID_KEY_PUBLISH_AHEAD_SECONDS", "2")
    with pytest.raises(ConfigurationError, match="LEERID_JWKS_MAX_AGE"):
        IdpSettings(cache_seconds=0)  # and the head start longer than a client's cache
