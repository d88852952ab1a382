"""Issue 14 §4: keys rotate by themselves across two provider nodes on one PostgreSQL database.

Both nodes are real servers (``leerid idp serve`` in their own processes, same issuer) with
short settings: a rotation every 6 s, the next key published 4 s before it signs, the key set
cached 2 s by clients (``LEERID_KEY_ROTATION_SECONDS``, ``LEERID_KEY_PUBLISH_AHEAD_SECONDS``,
``LEERID_JWKS_MAX_AGE``). While both run, access tokens are asked from both and both key
sets are fetched: each new key is in both nodes' key sets at least ``max-age`` before the
first token signed with it; a key set fetched before the switch verifies tokens signed after
it; exactly one rotation happens per period.
"""

from __future__ import annotations

import itertools
import time

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from leerid.idp.store.key_rotation import key_states
from leerid.store.engine import make_engine
from leerid.testing.servers import ServerProcess
from tests.conftest import BACKENDS
from tests.idp_server import running_idp, start_idp

pytestmark = [pytest.mark.parametrize("database_url", [BACKENDS[-1]], indirect=True)]

PERIOD, AHEAD, MAX_AGE = 6, 4, 2
NODE_ENV = {
    "LEERID_KEY_ROTATION_SECONDS": str(PERIOD),
    "LEERID_KEY_PUBLISH_AHEAD_SECONDS": str(AHEAD),
    "LEERID_JWKS_MAX_AGE": str(MAX_AGE),
}
NEEDS_PG = "several nodes share one database on PostgreSQL only: set LEERID_TEST_DATABASE_URL"


def token_kid(node: ServerProcess, client: tuple[str, str]) -> tuple[str, str]:
    """An events access token from ``node`` and the kid that signed it."""
    answer = httpx.post(
        f"{node.issuer}/v1/token",
        data={"grant_type": "client_credentials", "scope": "leerid:events"},
        auth=client,
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    token = str(answer.json()["access_token"])
    return token, str(jwt.decode(token, KeySet.import_key_set(key_set(node))).header["kid"])


def key_set(node: ServerProcess) -> dict[str, object]:
    answer = httpx.get(f"{node.issuer}/v1/keys", timeout=10)
    assert (
        answer.headers["cache-control"]
        == f"public, max-age={MAX_AGE}, s-maxage=60, must-revalidate"
    )
    data: dict[str, object] = answer.json()
    return data


def test_two_nodes_rotate_once_per_period_and_publish_ahead(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip(NEEDS_PG)
    first_seen: dict[tuple[int, str], float] = {}  # (node, kid) -> when its key set had it
    first_signed: dict[str, float] = {}
    cached: tuple[str, dict[str, object]] | None = None  # a client's key set with a next kid
    verified_after_switch = False
    with running_idp(database_url, more_env=NODE_ENV) as one:
        two = start_idp(database_url, more_env={"LEERID_ISSUER": one.issuer, **NODE_ENV})
        nodes = (one.server, two)
        client = (one.client_id, one.client_secret)
        try:
            known = {k["kid"] for n in nodes for k in key_set(n)["keys"]}  # type: ignore[attr-defined]
            started = time.monotonic()
            while time.monotonic() - started < PERIOD + AHEAD + 1.5:  # a whole rotation
                for index, node in enumerate(nodes):
                    seen = key_set(node)
                    for k in seen["keys"]:  # type: ignore[attr-defined]
                        first_seen.setdefault((index, k["kid"]), time.monotonic())
                        if cached is None and k["kid"] not in known and k["kty"] == "RSA":
                            cached = (k["kid"], seen)  # fetched before that key signs
                    token, kid = token_kid(node, client)
                    first_signed.setdefault(kid, time.monotonic())
                    if cached is not None and kid == cached[0]:
                        jwt.decode(token, KeySet.import_key_set(cached[1]))  # no refetch
                        verified_after_switch = True
                time.sleep(0.1)
        finally:
            two.stop()
    engine = make_engine(database_url)
    states = sorted((s for s in key_states(engine) if s.kty == "RSA"), key=lambda s: s.created_at)
    engine.dispose()
    assert verified_after_switch
    signed_new = [kid for kid in first_signed if kid not in known]
    assert signed_new, first_signed
    for kid in signed_new:
        for index in (0, 1):  # both nodes published it a max-age (and more) before it signed
            assert first_signed[kid] - first_seen[(index, kid)] >= MAX_AGE, (index, kid)
    # the first rotation after start may come late (keys made at seeding: ahead from then);
    # each later one exactly a period after the last (late by the loop's look at most)
    moments = [s.activates_at for s in states[1:]]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(moments)]  # type: ignore[operator]
    assert gaps and all(PERIOD <= gap < PERIOD + 1 for gap in gaps), gaps
