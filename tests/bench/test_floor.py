"""The floor of the side-by-side bench (``bench/floor_app.py``, issue 15).

The floor is only a lower bound if it does the work it claims: flows complete with an ID
token the driver verifies, and it refuses what any provider must refuse (a wrong client
secret, a wrong PKCE verifier, a code or access token not its own, an unknown redirect URI).
The summary's bound is checked on figures whose answer is known.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import importlib
import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))  # the bench's scripts import each other by name
flows: Any = importlib.import_module("_flow_client")
servers: Any = importlib.import_module("_side_servers")
side: Any = importlib.import_module("side_by_side")

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def floor() -> Iterator[Any]:
    server = servers.start_floor(4)
    yield server
    server.stop()


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(32)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _code(target: Any, challenge: str, redirect_uri: str = flows.REDIRECT_URI) -> httpx.Response:
    params = {
        "response_type": "code",
        "client_id": target.client_id,
        "redirect_uri": redirect_uri,
        "scope": flows.SCOPE,
        "state": "s",
        "nonce": "n",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return httpx.get(target.authorization_endpoint, params=params)


def _token(target: Any, code: str, verifier: str, secret: str | None = None) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": flows.REDIRECT_URI,
        "code_verifier": verifier,
    }
    auth = (target.client_id, target.client_secret if secret is None else secret)
    return httpx.post(target.token_endpoint, data=form, auth=auth)


def test_every_flow_completes_with_a_verified_id_token(floor: Any) -> None:
    run = asyncio.run(flows.drive(floor.target, "sso", 4, 1.0))
    assert not run.errors, run.examples
    assert run.latencies


def test_it_refuses_what_a_provider_must_refuse(floor: Any) -> None:
    target = floor.target
    verifier, challenge = _pkce()
    unknown = _code(target, challenge, redirect_uri="https://attacker.example/cb")
    assert unknown.status_code == 400 and "location" not in unknown.headers
    answer = _code(target, challenge)
    assert answer.status_code == 302
    name, _, session = answer.headers["set-cookie"].split(";")[0].partition("=")
    assert name == "floor_session"  # a session, opened on each later visit
    again = httpx.get(answer.request.url, headers={"cookie": f"floor_session={session}"})
    assert again.status_code == 302 and "set-cookie" not in again.headers
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["iss"] == [target.issuer] and query["state"] == ["s"]
    code = query["code"][0]
    assert _token(target, code, verifier, secret="wrong").status_code == 401
    assert _token(target, code, _pkce()[0]).json() == {"error": "invalid_grant"}
    assert _token(target, code[:-4] + "AAAA", verifier).json() == {"error": "invalid_grant"}
    tokens = _token(target, code, verifier).json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert httpx.get(target.userinfo_endpoint, headers=bearer).status_code == 200
    forged = {"Authorization": f"Bearer {code}"}  # a code is sealed for another purpose
    assert httpx.get(target.userinfo_endpoint, headers=forged).status_code == 401


def _figures(
    server: str, flows_per_s: float, server_cpu: float, store: float, driver: float
) -> Any:
    flows_run = int(flows_per_s * 10)
    return side.Figures(
        server=server,
        scenario="sso",
        round=1,
        flows=flows_run,
        flows_per_s=flows_per_s,
        p50_ms=1.0,
        p95_ms=1.0,
        p99_ms=1.0,
        errors={},
        server_cpu_s=server_cpu * flows_run / 1000,
        store_cpu_s=store * flows_run / 1000,
        driver_cpu_s=driver * flows_run / 1000,
        load=[0.0, 0.0, 0.0],
    )


def test_the_bound_adds_leerids_store_to_the_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    figures = [
        _figures("leerid", 400, 2.0, 1.0, 0.9),
        _figures("redis", 500, 1.6, 0.2, 0.7),
        _figures("floor", 1400, 0.5, 0.0, 0.5),
    ]
    # 2 cores / (0.5 floor + 1.0 leerid's PostgreSQL + 0.5 driver) ms = 1000 flows/s
    text = side.floor_bound(figures)
    assert "at most 2 cores / 2.00 ms = 1000 SSO flows/s" in text
    assert "= 2.00 x oidc-provider, Redis (500 flows/s)" in text
    assert side.floor_bound(figures[1:]) is None  # without leerid there is no store to add
    uncounted = [_figures("leerid", 400, 2.0, 0.0, 0.9), *figures[1:]]
    assert side.floor_bound(uncounted) is None  # a store not counted (a Unix socket)


def test_a_database_reached_through_a_unix_socket_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its backends cannot be found by port: the bench says its store is not counted."""
    monkeypatch.delenv("PGHOST", raising=False)
    assert side._over_tcp("postgresql+psycopg://postgres@127.0.0.1:5432/test")
    assert not side._over_tcp("postgresql+psycopg://postgres@/test?host=/var/run/postgresql")
    assert not side._over_tcp("postgresql+psycopg://postgres@/test")
    monkeypatch.setenv("PGHOST", "127.0.0.1")  # libpq's own default host
    assert side._over_tcp("postgresql+psycopg://postgres@/test")
