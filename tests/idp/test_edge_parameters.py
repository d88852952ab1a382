"""Issue 8 points 6, 7, 8 and 23 at the provider: bad input gets the endpoint's normal error.

NUL and other control characters, overlong parameters, a hostile ``Host`` and an oversized
multipart form, against a real server on SQLite and PostgreSQL (where a NUL used to reach
the database and answer 500 with a traceback).
"""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from leerid.idp.web.browser_state import SEALED_LIMIT, Sealer
from leerid.idp.web.parameters import RULES
from tests.fuzz.requests import unsigned_jwt
from tests.idp.flow import Browser, RelyingParty, query
from tests.idp_server import running_idp

FAST = {"LEERID_ARGON2_MEMORY_KIB": "1024", "LEERID_ARGON2_TIME_COST": "1"}


def test_bad_parameters_get_the_endpoints_normal_error(database_url: str) -> None:
    with running_idp(database_url, more_env=FAST) as idp, httpx.Client() as http:
        op = idp.issuer
        # point 6: NUL reaches no database; the error page, the OAuth JSON, never a 500
        page = http.get(f"{op}/v1/auth?client_id=%00")
        assert page.status_code == 400 and "text/html" in page.headers["content-type"]
        assert "client_id" in page.text
        logout = http.get(f"{op}/v1/logout?client_id=%00&post_logout_redirect_uri=x")
        assert logout.status_code == 400 and "text/html" in logout.headers["content-type"]
        basic = http.post(
            f"{op}/v1/token",
            headers={"Authorization": "Basic " + base64.b64encode(b"%00:x").decode()},
            data={"grant_type": "authorization_code", "code": "x"},
        )
        assert basic.status_code == 401 and basic.json()["error"] == "invalid_client"
        posted = http.post(
            f"{op}/v1/token", data={"client_id": "\x00", "client_secret": "x", "code": "c"}
        )
        assert posted.status_code == 400 and posted.json()["error"] == "invalid_request"
        assertion = http.post(
            f"{op}/v1/token",
            data={
                "grant_type": "authorization_code",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": unsigned_jwt({"sub": "a\x00b", "iss": "a\x00b"}),
            },
        )
        assert assertion.status_code == 401 and assertion.json()["error"] == "invalid_client"
        login = http.post(f"{op}/v1/login", data={"username": "a\x00", "password": "x"})
        assert login.status_code == 400 and "text/html" in login.headers["content-type"]
        userinfo = http.post(f"{op}/v1/userinfo", data={"access_token": "a\x7fb"})
        assert userinfo.status_code == 400 and userinfo.json()["error"] == "invalid_request"
        # point 7: no redirect built from the Host header
        slash = http.get(f"{op}/v1/auth/", headers={"Host": "evil.example"})
        assert "location" not in slash.headers and slash.status_code == 404
        # point 23: an oversized multipart form gets the page, not FastAPI's JSON
        big = http.post(f"{op}/v1/login", files={"password": (None, b"x" * 2_000_000)})
        assert big.status_code == 413 and "text/html" in big.headers["content-type"]
        assert "te groot" in big.text
        assert "Traceback" not in idp.server.log_text()


def test_state_is_limited_and_a_login_at_the_limit_works(database_url: str) -> None:
    """Point 8: state up to 2048 characters logs in; one more is invalid_request by
    redirect without the state (RFC 6749 §4.1.2.1); junk client ids get the page."""
    with running_idp(database_url, more_env=FAST) as idp:
        rp = RelyingParty(idp)
        limit = RULES.table["state"].limit
        worst = ("~\"\\'" * limit)[:limit]  # printable ASCII that JSON escapes
        browser = Browser()
        auth = rp.authorization(state=worst)
        page = browser.open(auth.url)
        assert page.status_code == 200, page.text
        done = browser.provider_login(page, idp.username, idp.password)
        assert done.status_code == 303, done.text
        assert query(done.headers["location"])["state"] == worst
        assert "access_token" in rp.fetch_token(done.headers["location"], auth.verifier)

        over = Browser().open(rp.authorization(state="x" * (limit + 1)).url)
        assert over.status_code == 303
        answer = parse_qs(urlsplit(over.headers["location"]).query)
        assert answer["error"] == ["invalid_request"] and "state" not in answer
        assert len(over.headers["location"]) < 1000
        wrong = Browser().open(rp.authorization(state="\x00").url)
        assert query(wrong.headers["location"])["error"] == "invalid_request"


@settings(max_examples=30, deadline=None)
@given(
    state=st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=2048),
    nonce=st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), min_size=512),
)
def test_the_largest_pending_request_fits_the_sealed_limit(state: str, nonce: str) -> None:
    pending = {
        "client_id": "c" * 64,
        "redirect_uri": '"' * RULES.table["redirect_uri"].limit,
        "scope": "openid profile ov_leerling offline_access",
        "state": state[:2048],
        "nonce": nonce[:512],
        "code_challenge": "x" * 43,
        "lang": "nl",
        "csrf": "y" * 32,
    }
    sealer = Sealer(b"k" * 32)
    sealed = sealer.seal("pending", pending, 60)
    assert len(sealed) <= SEALED_LIMIT
    assert sealer.open("pending", sealed) == pending
