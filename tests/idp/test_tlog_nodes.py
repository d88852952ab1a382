"""Issue 12 §6: two provider nodes on one PostgreSQL log; the integrating node is killed
(``kill -9``) mid-run; the survivor takes over within the lease and the log stays whole.

Both nodes are real servers (``leerid idp serve`` in their own processes) with the same
issuer, so the same log origin. Disclosures are driven through both (a login on one, the
code exchanged and userinfo asked on either: each records a disclosure and its entry), and
entries are also appended as the append does, from a thread, so that the log grows fast
while the integrator dies.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import threading
import time

import httpx
import pytest
from sqlalchemy import Engine, text

from leerid.idp.store.tlog.checkpoints import aware
from leerid.idp.store.tlog.tree import stored_tree
from leerid.store.engine import make_engine
from leerid.testing.browser import Browser
from leerid.testing.relying_party import (
    authorization_url,
    basic_auth,
    code_from,
    pkce_pair,
    token_form,
)
from leerid.testing.servers import ServerProcess
from leerid.transparency.rfc9162 import root_from_leaves, verify_consistency
from tests.conftest import run_leerid
from tests.idp import tlog_kit
from tests.idp_server import RunningIdp, running_idp, start_idp

LEASE = 2.0
NODE_ENV = {"LEERID_TLOG_INTERVAL": "0.2", "LEERID_TLOG_LEASE": str(LEASE)}

NEEDS_PG = "several nodes share one log on PostgreSQL only: set LEERID_TEST_DATABASE_URL"


def state(engine: Engine) -> tuple[int, str | None, dt.datetime | None]:
    with engine.connect() as conn:
        size, integrator, lease_until = conn.execute(
            text("SELECT size, integrator, lease_until FROM idp_tlog_state")
        ).one()
    return int(size), integrator, None if lease_until is None else aware(lease_until)


def holder_pid(engine: Engine) -> int | None:
    integrator = state(engine)[1]
    return None if integrator is None else int(integrator.split(":")[-2])


def wait_for(what: str, check: object, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s: {what}")


def disclose_through(idp: RunningIdp, node: ServerProcess) -> None:
    """A real disclosure at ``node`` alone: the pupil logs in there, the client exchanges
    the code and asks userinfo there (each records a disclosure and appends its entry)."""
    verifier, challenge = pkce_pair()
    url, state, _ = authorization_url(node.issuer, idp.client_id, idp.redirect_uri, challenge)
    browser = Browser()
    done = browser.provider_login(browser.open(url), idp.username, idp.password)
    assert done.status_code == 303, done.text
    code = code_from(done.headers["location"], state, idp.issuer)
    form = token_form(code, idp.redirect_uri, verifier)
    exchanged = httpx.post(
        f"{node.issuer}/v1/token", data=form, headers=basic_auth(idp.client_id, idp.client_secret)
    )
    assert exchanged.status_code == 200, exchanged.text
    bearer = {"Authorization": f"Bearer {exchanged.json()['access_token']}"}
    assert httpx.get(f"{node.issuer}/v1/userinfo", headers=bearer).status_code == 200


def test_two_nodes_one_log_the_integrator_killed(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip(NEEDS_PG)
    engine = make_engine(database_url)
    stop = threading.Event()

    def keep_appending() -> None:
        while not stop.is_set():
            tlog_kit.append(engine, 25)
            time.sleep(0.02)

    with running_idp(database_url, more_env=NODE_ENV) as one:
        two = start_idp(database_url, more_env={"LEERID_ISSUER": one.issuer, **NODE_ENV})
        nodes = {one.server.process.pid: one.server, two.process.pid: two}
        appender = threading.Thread(target=keep_appending, daemon=True)
        try:
            appender.start()
            for node in (one.server, two):
                disclose_through(one, node)
            wait_for("a node holds the lease and integrates", lambda: state(engine)[0] > 100)
            dead_pid = holder_pid(engine)
            assert dead_pid in nodes
            survivor = nodes[next(pid for pid in nodes if pid != dead_pid)]
            nodes[dead_pid].process.kill()  # SIGKILL: no clean stop, the lease stays behind
            nodes[dead_pid].process.wait(10)
            _, _, dead_lease = state(engine)
            killed_at_size = state(engine)[0]
            wait_for(
                "the survivor took the lease",
                lambda: holder_pid(engine) == survivor.process.pid,
                seconds=LEASE * 10,
            )
            taken_at = dt.datetime.now(dt.UTC)
            disclose_through(one, survivor)
            wait_for("the survivor integrates", lambda: state(engine)[0] > killed_at_size + 100)
            stop.set()
            appender.join(10)
            wait_for("every entry integrated", lambda: tlog_kit.pending(engine) == 0)
        finally:
            stop.set()
            appender.join(10)
            two.stop()
    assert dead_lease is not None  # the survivor took over once the dead node's lease ran out
    assert taken_at - dead_lease < dt.timedelta(seconds=LEASE), (taken_at, dead_lease)
    leaves = tlog_kit.leaves_by_index(engine)
    with engine.connect() as conn:
        bodies = conn.execute(text("SELECT body FROM idp_tlog_entry")).scalars().all()
    released = [b for b in bodies if f'"client":"{one.client_id}"'.encode() in bytes(b)]
    assert len(released) >= 6  # three logins: the token and the userinfo answer of each
    assert [i for i, _ in leaves] == list(range(len(leaves)))  # no gap, none twice
    with engine.connect() as conn:
        checkpoints = conn.execute(
            text("SELECT size, root FROM idp_tlog_checkpoint ORDER BY size")
        ).all()
        assert len(checkpoints) > 2
        for (old, old_root), (new, new_root) in itertools.pairwise(checkpoints):
            proof = stored_tree(conn, new).consistency_proof(old)
            verify_consistency(old, new, bytes(old_root), bytes(new_root), proof)
        assert bytes(checkpoints[-1][1]) == root_from_leaves(
            [leaf for _, leaf in leaves[: checkpoints[-1][0]]]
        )
    engine.dispose()
    audit = run_leerid(["log", "verify"], {**os.environ, "LEERID_DATABASE_URL": database_url})
    assert audit.returncode == 0, audit.stderr
    assert "the log is sound" in audit.stdout
