"""Art. 11 (no release outside a protocol in force), hash upgrade, metrics, jwks_uri clients."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import httpx
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import select, update

from leerid.idp.store.clients import add_client
from leerid.idp.store.disclosures import list_disclosures
from leerid.registry.models import Credential
from leerid.store.engine import make_engine
from tests.idp.flow import Browser, RelyingParty, full_login, query
from tests.idp_server import PROTOCOL_FILE, REDIRECT_URI, RunningIdp, running_idp, store_protocol


def _terminated_copy(tmp_path: Path) -> Path:
    text = PROTOCOL_FILE.read_text(encoding="utf-8")
    assert "status_changes: []" in text
    text = text.replace(
        "status_changes: []",
        "status_changes:\n  - kind: terminated\n    effective: 2025-01-01T00:00:00+01:00\n"
        "    reason: Art. 8 — beëindigd wegens niet-naleving (test)\n    by: discloser",
    )
    path = tmp_path / "terminated.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_terminated_protocol_stops_logins_and_releases(database_url: str, tmp_path: Path) -> None:
    with running_idp(database_url) as idp:
        rp, _, auth, location = full_login(idp)  # a code issued while in force
        store_protocol(database_url, _terminated_copy(tmp_path))  # a new current version
        time.sleep(1.5)  # the servers' protocol cache
        page = Browser().open(rp.authorization().url)
        assert page.status_code == 403 and "location" not in page.headers
        assert "beëindigd" in page.text and 'name="password"' not in page.text
        answer = httpx.post(
            rp.discovery["token_endpoint"],
            auth=(idp.client_id, idp.client_secret),
            data={
                "grant_type": "authorization_code",
                "code": query(location)["code"],
                "redirect_uri": REDIRECT_URI,
                "code_verifier": auth.verifier,
            },
        )
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
        assert "id_token" not in answer.text
        records = list_disclosures(make_engine(database_url), account_uuid=idp.pupil.account_uuid)
        refused = [r for r in records if r.outcome == "refused"]
        assert refused and refused[0].reason == "protocol_terminated"
        assert refused[0].claims == ()


def test_a_wrong_password_of_a_known_account_is_recorded_as_refused(idp: RunningIdp) -> None:
    browser = Browser()
    page = browser.open(RelyingParty(idp).authorization().url)
    browser.provider_login(page, idp.username, "not the password")
    engine = make_engine(idp.database_url)
    for _ in range(50):  # written just after the answer is sent
        records = list_disclosures(engine, account_uuid=idp.pupil.account_uuid)
        if any(r.endpoint == "login" and r.reason == "wrong_password" for r in records):
            break
        time.sleep(0.1)
    else:
        raise AssertionError("no refused-login record")


def test_an_old_hash_is_upgraded_at_login(idp: RunningIdp) -> None:
    from argon2 import PasswordHasher as Argon2

    engine = make_engine(idp.database_url)
    weak = Argon2(memory_cost=1024, time_cost=1, parallelism=1).hash(idp.password)
    with engine.begin() as conn:
        conn.execute(
            update(Credential).where(Credential.username == idp.username).values(password_hash=weak)
        )
    full_login(idp)
    with engine.connect() as conn:
        stored = conn.execute(
            select(Credential.password_hash).where(Credential.username == idp.username)
        ).scalar_one()
    assert stored != weak and "m=19456,t=2,p=1" in stored


def test_metrics_count_logins_failures_tokens_and_latency(idp: RunningIdp) -> None:
    rp, _, auth, location = full_login(idp)
    rp.fetch_token(location, auth.verifier)
    text = httpx.get(f"{idp.base_url}/metrics").text
    assert 'leerid_logins_total{method="password"}' in text
    assert 'leerid_tokens_issued_total{grant_type="authorization_code",kind="id_token"}' in text
    assert 'leerid_request_seconds_bucket{endpoint="token"' in text
    assert "leerid_login_failures_total" in text


def test_private_key_jwt_with_a_jwks_uri_and_the_token_endpoint_as_audience(
    idp: RunningIdp,
) -> None:
    key = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
    body = json.dumps({"keys": [key.as_dict(private=False)]}).encode()

    class KeySetHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), KeySetHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        engine = make_engine(idp.database_url)
        client, _ = add_client(
            engine,
            name="JWKS app",
            protocol_id=idp.seed.protocol_id,
            redirect_uris=[REDIRECT_URI],
            auth_method="private_key_jwt",
            jwks_uri=f"http://127.0.0.1:{server.server_port}/jwks",
        )
        rp = RelyingParty(idp, client_id=client.client_id, client_secret="")
        auth = rp.authorization()
        browser = Browser()
        code = query(
            browser.provider_login(browser.open(auth.url), idp.username, idp.password).headers[
                "location"
            ]
        )["code"]

        def assertion(aud: str) -> str:
            now = int(time.time())
            return jwt.encode(
                {"alg": "RS256", "kid": "k1"},
                {
                    "iss": client.client_id,
                    "sub": client.client_id,
                    "aud": aud,
                    "exp": now + 60,
                    "jti": str(uuid.uuid4()),
                },
                key,
                algorithms=["RS256"],
            )

        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": auth.verifier,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        }
        wrong = httpx.post(
            rp.discovery["token_endpoint"],
            data={**form, "client_assertion": assertion("https://other/")},
        )
        assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
        right = httpx.post(
            rp.discovery["token_endpoint"],
            data={**form, "client_assertion": assertion(rp.discovery["token_endpoint"])},
        )
        assert right.status_code == 200, right.text
    finally:
        server.shutdown()
