"""Findings of the security and privacy review, each checked against a running provider."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey

from leerid.idp.store.clients import add_client
from leerid.store.engine import make_engine
from tests.idp.flow import Browser, RelyingParty, full_login, query
from tests.idp_server import LOGOUT_URI, REDIRECT_URI, RunningIdp, running_idp, seed_pupil

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _jwt_client(idp: RunningIdp, key: ECKey) -> str:
    engine = make_engine(idp.database_url)
    client, _ = add_client(
        engine,
        name="Review app",
        protocol_id=idp.seed.protocol_id,
        redirect_uris=[REDIRECT_URI],
        post_logout_redirect_uris=[LOGOUT_URI],
        auth_method="private_key_jwt",
        jwks={"keys": [key.as_dict(private=False)]},
    )
    engine.dispose()
    return client.client_id


def _assertion(key: ECKey, client_id: str, aud: str) -> str:
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": aud,
        "exp": now + 60,
        "iat": now,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode({"alg": "ES256", "kid": "review"}, claims, key, algorithms=["ES256"])


def test_assertion_audience_comes_from_the_issuer_not_the_host_header(idp: RunningIdp) -> None:
    """RFC 7523 §3 (3): an assertion made for another server is refused, whatever Host says."""
    key = ECKey.generate_key("P-256", parameters={"kid": "review"}, private=True)
    client_id = _jwt_client(idp, key)
    endpoint = f"{idp.issuer}/v1/introspect"
    time.sleep(1.2)  # the server caches clients for 1 s

    def introspect(aud: str, host: str | None = None) -> httpx.Response:
        form = {
            "client_id": client_id,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": _assertion(key, client_id, aud),
            "token": "unknown",
        }
        headers = {"Host": host} if host else {}
        return httpx.post(endpoint, data=form, headers=headers)

    foreign = introspect("http://other-as.example/op/v1/introspect", host="other-as.example")
    assert foreign.status_code == 401 and foreign.json()["error"] == "invalid_client"
    ours = introspect(endpoint)  # the endpoint called, at our issuer: accepted
    assert ours.status_code == 200 and ours.json() == {"active": False}


def _failure_counts(idp: RunningIdp) -> dict[str, float]:
    text = httpx.get(f"{idp.base_url}/metrics").text
    counts = {}
    for line in text.splitlines():
        if line.startswith("leerid_login_failures_total{"):
            labels, value = line.rsplit(" ", 1)
            counts[labels] = float(value)
    return counts


def _failed_login_labels(idp: RunningIdp, username: str) -> set[str]:
    before = _failure_counts(idp)
    browser = Browser()
    page = browser.open(RelyingParty(idp).authorization().url)
    assert browser.provider_login(page, username, "not-the-password-1").status_code == 200
    after = _failure_counts(idp)
    return {labels for labels, value in after.items() if value != before.get(labels, 0.0)}


def test_public_metrics_do_not_tell_whether_a_username_exists(idp: RunningIdp) -> None:
    """Issue 4 §4: /metrics is unauthenticated, so its labels are part of the answer."""
    known = _failed_login_labels(idp, idp.username)
    unknown = _failed_login_labels(idp, f"nobody.{uuid.uuid4().hex[:8]}")
    assert known and known == unknown


def test_access_log_holds_paths_but_no_id_token_hint(database_url: str) -> None:
    """Issue 4 §5: no name or token in a log line, also not in a logged query string."""
    with running_idp(database_url, more_env={"LEERID_LOG_LEVEL": "info"}) as idp:
        rp, browser, auth, location = full_login(idp)
        id_token = rp.fetch_token(location, auth.verifier)["id_token"]
        again = browser.open(rp.authorization(prompt="none", id_token_hint=id_token).url)
        assert "code" in query(again.headers["location"])
        bye = browser.open(
            f"{idp.issuer}/v1/logout?id_token_hint={id_token}&post_logout_redirect_uri="
            f"{LOGOUT_URI}&state=s1"
        )
        assert bye.status_code == 303
        log = idp.server.log_text()
        assert "/op/v1/logout" in log and "/op/v1/auth" in log  # the access log is on
        assert id_token not in log and id_token.split(".")[1] not in log
        assert idp.pupil.naam not in log and idp.pupil.voornaam not in log


def test_bearer_endpoints_answer_as_rfc6750_says(idp: RunningIdp) -> None:
    """RFC 6750 §3.1: a request without credentials gets no error code, only the challenge;
    §2: a token sent in the header and in the body is an invalid request."""
    for path in ("v1/userinfo", "v1/disclosures/mine"):
        answer = httpx.get(f"{idp.issuer}/{path}")
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == 'Bearer realm="leerid"'
        assert answer.headers["cache-control"] == "no-store"
    rp, _, auth, location = full_login(idp)
    access = rp.fetch_token(location, auth.verifier)["access_token"]
    twice = httpx.post(
        f"{idp.issuer}/v1/userinfo",
        headers={"Authorization": f"Bearer {access}"},
        data={"access_token": access},
    )
    assert twice.status_code == 400
    assert 'error="invalid_request"' in twice.headers["www-authenticate"]


def test_logout_without_the_pupils_id_token_asks_first(idp: RunningIdp) -> None:
    """OIDC RP-Initiated Logout 1.0 §2: without an ID token of the logged-in user the OP MUST
    ask; another site's link, image or form cannot end the pupil's session."""
    rp, browser, _, _ = full_login(idp)
    endpoint = f"{idp.issuer}/v1/logout"
    params = {"client_id": idp.client_id, "post_logout_redirect_uri": LOGOUT_URI, "state": "s2"}
    drive_by = browser.http.get(endpoint, params=params)
    assert drive_by.status_code == 200 and "location" not in drive_by.headers
    forged = browser.http.post(endpoint, data={**params, "confirm": "1", "csrf_token": "x"})
    assert forged.status_code == 200 and "location" not in forged.headers
    still = browser.open(rp.authorization(prompt="none").url)
    assert "code" in query(still.headers["location"])  # the session survived both
    # an ID token of another pupil is no better than none
    other = seed_pupil(idp.database_url, insz="98472899765", voornaam="Ruben")
    other_browser, other_auth = Browser(), rp.authorization()
    page = other_browser.open(other_auth.url)
    other_done = other_browser.provider_login(page, other.username, other.password)
    other_hint = rp.fetch_token(other_done.headers["location"], other_auth.verifier)["id_token"]
    assert browser.http.get(endpoint, params={"id_token_hint": other_hint}).status_code == 200
    done = browser.confirm_logout(drive_by)
    assert done.status_code == 303 and done.headers["location"] == f"{LOGOUT_URI}?state=s2"
    after = browser.open(rp.authorization(prompt="none").url)
    assert query(after.headers["location"])["error"] == "login_required"


def test_unknown_kids_do_not_make_the_provider_fetch_a_key_set_each_time(
    idp: RunningIdp,
) -> None:
    """RFC 7523 §3 with ``--jwks-uri``: the kid is chosen by whoever sends the assertion; a
    stream of unknown kids refetches the client's key set at most once per interval."""
    key = ECKey.generate_key("P-256", parameters={"kid": "review"}, private=True)
    body = json.dumps({"keys": [key.as_dict(private=False)]}).encode()
    fetches: list[float] = []

    class KeySetHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fetches.append(time.monotonic())
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
            name="JWKS review app",
            protocol_id=idp.seed.protocol_id,
            redirect_uris=[REDIRECT_URI],
            auth_method="private_key_jwt",
            jwks_uri=f"http://127.0.0.1:{server.server_port}/jwks",
        )
        engine.dispose()
        time.sleep(1.2)  # the server caches clients for 1 s
        for n in range(6):
            now = int(time.time())
            claims = {"iss": client.client_id, "sub": client.client_id, "aud": idp.issuer}
            claims |= {"exp": now + 60, "jti": str(uuid.uuid4())}
            forged = jwt.encode(
                {"alg": "ES256", "kid": f"unknown-{n}"}, claims, key, algorithms=["ES256"]
            )
            answer = httpx.post(
                f"{idp.issuer}/v1/introspect",
                data={
                    "client_id": client.client_id,
                    "client_assertion_type": ASSERTION_TYPE,
                    "client_assertion": forged,
                    "token": "x",
                },
            )
            assert answer.status_code == 401
        assert 1 <= len(fetches) <= 2
    finally:
        server.shutdown()


def test_an_https_issuer_gets_secure_cookies_and_hsts(database_url: str) -> None:
    """Issue 4 §4 (Secure cookies under https) and RFC 6797 (no fallback to http)."""
    with running_idp(database_url, more_env={"LEERID_ISSUER": "https://leerid.example/op"}) as idp:
        params = {
            "client_id": idp.client_id,
            "redirect_uri": REDIRECT_URI,
            "response_type": "code",
            "scope": "openid",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
        }
        page = httpx.get(f"{idp.base_url}/op/v1/auth", params=params)
        assert page.status_code == 200, page.text
        assert page.headers["strict-transport-security"] == "max-age=31536000"
        cookies = page.headers.get_list("set-cookie")
        assert cookies and all("Secure" in c and "HttpOnly" in c for c in cookies)
    with running_idp(database_url) as plain:  # an http issuer (tests) gets no HSTS
        assert "strict-transport-security" not in httpx.get(f"{plain.base_url}/healthz").headers
