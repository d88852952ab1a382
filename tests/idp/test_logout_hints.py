"""Review of issue 14: ``id_token_hint`` across an automatic key rotation, and a hint naming
another pupil (OIDC RP-Initiated Logout §2; OIDC Core §3.1.2.1), against a running provider.

A pupil who logged in before a rotation logs out hours later with an ID token signed by a key
that has left the published set: the hint still counts while we store the key, and once the
key is deleted it is treated as no hint (the question under strict, at once for acm with a
registered address), never an error page.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import Engine, update

from leerid.idp.oauth.id_token import UnknownKeyError, read_id_token_hint
from leerid.idp.store.keys import KeyRing, ensure_keys, rotate_keys
from leerid.idp.store.models import IdpSigningKey
from leerid.store.engine import make_engine
from leerid.testing.browser import Browser
from leerid.testing.relying_party import basic_auth, pkce_pair
from tests.idp.test_acm_profile import _register
from tests.idp_server import LOGOUT_URI, REDIRECT_URI, RunningIdp, SeededPupil, seed_pupil

ISSUER = "https://leerid.example/op"


def _id_token(idp: RunningIdp, client: tuple[str, str], pupil: SeededPupil) -> tuple[Browser, str]:
    """A browser where ``pupil`` logged in at ``client``, and the ID token it got."""
    browser = Browser()
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": client[0],
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile",
        "state": "s-" + uuid.uuid4().hex,
        "nonce": "n-" + uuid.uuid4().hex,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    page = browser.open(f"{idp.issuer}/v1/auth?{urlencode(params)}")
    back = browser.provider_login(page, pupil.username, pupil.password)
    assert back.status_code == 303, back.text
    code = parse_qs(urlsplit(back.headers["location"]).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    token = httpx.post(
        f"{idp.issuer}/v1/token",
        data=form | {"code_verifier": verifier},
        headers=basic_auth(*client),
    )
    assert token.status_code == 200, token.text
    return browser, str(token.json()["id_token"])


def _logout(browser: Browser, idp: RunningIdp, client_id: str, hint: str) -> httpx.Response:
    params = {
        "client_id": client_id,
        "post_logout_redirect_uri": LOGOUT_URI,
        "state": "bye-1",
        "id_token_hint": hint,
    }
    return browser.open(f"{idp.issuer}/v1/logout?{urlencode(params)}")


def _asked(response: httpx.Response) -> bool:
    return response.status_code == 200 and 'name="confirm"' in response.text


def _logged_out(response: httpx.Response) -> bool:
    return response.status_code == 303 and response.headers["location"] == (
        f"{LOGOUT_URI}?state=bye-1"
    )


def test_a_hint_signed_before_a_rotation_still_logs_out(idp: RunningIdp) -> None:
    """Rotated at once, the old key past the ID token lifetime (out of the key set): its
    hints still count while stored; once deleted, as no hint (strict asks, acm at once)."""
    acm = _register(idp, "acm")
    strict = (idp.client_id, idp.client_secret)
    time.sleep(1.2)  # the server's client cache
    pupil = idp.seed.pupil
    sessions = {
        name: _id_token(idp, client, pupil)
        for name, client in {"acm1": acm, "strict1": strict, "acm2": acm, "strict2": strict}.items()
    }
    engine = make_engine(idp.database_url)
    rotate_keys(engine, ahead=0)  # `leerid keys rotate --now`
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)  # past the 3600 s lifetime
    with engine.begin() as conn:  # as if two hours had passed since the rotation
        conn.execute(
            update(IdpSigningKey)
            .where(IdpSigningKey.retired_at.is_not(None))
            .values(retired_at=long_ago)
        )
    time.sleep(1.2)  # the server's key cache
    try:
        browser, hint = sessions["acm1"]
        assert _logged_out(_logout(browser, idp, acm[0], hint))
        browser, hint = sessions["strict1"]  # the hint names the session's pupil: at once
        assert _logged_out(_logout(browser, idp, strict[0], hint))
        rotate_keys(engine, token_lifetime=3600, ahead=0)  # deletes the old keys
        time.sleep(1.2)
        browser, hint = sessions["acm2"]  # unknown kid: no hint; acm + registered URI
        assert _logged_out(_logout(browser, idp, acm[0], hint))
        browser, hint = sessions["strict2"]  # unknown kid: no hint; strict asks
        assert _asked(_logout(browser, idp, strict[0], hint))
        auth = {"client_id": acm[0], "redirect_uri": REDIRECT_URI, "response_type": "code"}
        again = browser.open(  # /v1/auth: the unknown kid is no hint either (not a 400)
            f"{idp.issuer}/v1/auth?"
            + urlencode(auth | {"scope": "openid", "id_token_hint": hint, "nonce": "n-1"})
        )
        assert again.status_code == 303, again.text  # still logged in: a code, no error
        assert "code" in parse_qs(urlsplit(again.headers["location"]).query)
    finally:
        for browser, _ in sessions.values():
            browser.close()
        engine.dispose()


def test_acm_logout_asks_when_the_hint_names_another_pupil(idp: RunningIdp) -> None:
    """RP-Initiated Logout §2: an ID token of another pupil than the session's is not an
    ID token of the logged-in pupil: the OP asks, even for acm with a registered URI."""
    acm = _register(idp, "acm")
    time.sleep(1.2)
    other = seed_pupil(idp.database_url)
    here, _ = _id_token(idp, acm, idp.seed.pupil)
    elsewhere, foreign_hint = _id_token(idp, acm, other)
    try:
        assert _asked(_logout(here, idp, acm[0], foreign_hint))
        again, own_hint = _id_token(idp, acm, idp.seed.pupil)
        again.close()
        assert _logged_out(_logout(here, idp, acm[0], own_hint))
    finally:
        here.close()
        elsewhere.close()


def test_an_access_token_or_a_set_is_no_hint(engine: Engine) -> None:
    """RFC 9068 §4, RFC 8417 §2.3: a JWT of ``typ`` at+jwt or secevent+jwt, signed by our own
    key with our ``iss`` and a ``sub``, is still not an ID token."""
    ensure_keys(engine)
    ring = KeyRing(engine, 3600, cache_seconds=0)
    key = ring.signing_key("RS256")
    claims = {"iss": ISSUER, "sub": "a-client", "aud": "a-client", "exp": int(time.time()) + 60}
    for typ, read in (("at+jwt", False), ("secevent+jwt", False), ("JWT", True)):
        token = jwt.encode({"alg": "RS256", "kid": key.kid, "typ": typ}, claims, key.key)
        assert (read_id_token_hint(ring, ISSUER, token) is not None) is read, typ
    gone = RSAKey.generate_key(2048, parameters={"kid": "gone"}, private=True)
    unknown = jwt.encode({"alg": "RS256", "kid": "gone", "typ": "JWT"}, claims, gone)
    with pytest.raises(UnknownKeyError):
        read_id_token_hint(ring, ISSUER, unknown)
    forged = jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "JWT"}, claims, gone)
    assert read_id_token_hint(ring, ISSUER, forged) is None  # a bad signature stays refused
