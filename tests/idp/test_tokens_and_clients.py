"""Refresh tokens, client authentication methods, algorithms, introspection, revocation,
logout, key rotation, disclosures, headers — against a running provider."""

from __future__ import annotations

import json
import os
import time
import uuid

import httpx
import pytest
from authlib.integrations.base_client.errors import OAuthError as AuthlibOAuthError
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from leerid.idp.store.clients import add_client
from leerid.store.engine import make_engine
from tests.conftest import run_leerid
from tests.idp.flow import Browser, RelyingParty, full_login, query
from tests.idp_server import LOGOUT_URI, REDIRECT_URI, RunningIdp, offline_client


def _new_client(idp: RunningIdp, **options: object) -> tuple[str, str | None]:
    engine = make_engine(idp.database_url)
    client, secret = add_client(
        engine,
        name="Other app",
        protocol_id=idp.seed.protocol_id,
        redirect_uris=[REDIRECT_URI],
        post_logout_redirect_uris=[LOGOUT_URI],
        **options,
    )  # type: ignore[arg-type]
    engine.dispose()
    return client.client_id, secret


def test_refresh_tokens_are_single_use_rotated_and_reuse_revokes_the_family(
    idp: RunningIdp,
) -> None:
    client_id, secret = offline_client(idp.database_url)  # art. 5: the seed allows no refresh
    rp = RelyingParty(
        idp, client_id=client_id, client_secret=secret, scope="openid ov_leerling offline_access"
    )
    rp, _, auth, location = full_login(idp, rp)
    first = rp.fetch_token(location, auth.verifier)
    assert first["refresh_token"]
    endpoint = rp.discovery["token_endpoint"]
    second = rp.oauth.refresh_token(endpoint, refresh_token=first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]
    rp.verify_id_token(second["id_token"], None)
    with pytest.raises(AuthlibOAuthError) as reuse:
        rp.oauth.refresh_token(endpoint, refresh_token=first["refresh_token"])
    assert reuse.value.error == "invalid_grant"
    with pytest.raises(AuthlibOAuthError):  # the whole family is revoked
        rp.oauth.refresh_token(endpoint, refresh_token=second["refresh_token"])
    for access in (first["access_token"], second["access_token"]):
        answer = httpx.get(
            rp.discovery["userinfo_endpoint"], headers={"Authorization": f"Bearer {access}"}
        )
        assert answer.status_code == 401


def test_client_secret_post_and_wrong_secret(idp: RunningIdp) -> None:
    client_id, secret = _new_client(idp, auth_method="client_secret_post")
    rp = RelyingParty(
        idp, client_id=client_id, client_secret=secret, auth_method="client_secret_post"
    )
    rp, _, auth, location = full_login(idp, rp)
    assert rp.fetch_token(location, auth.verifier)["access_token"]
    wrong = RelyingParty(
        idp, client_id=client_id, client_secret="nope", auth_method="client_secret_post"
    )
    _, _, auth, location = full_login(idp, wrong)
    with pytest.raises(AuthlibOAuthError) as failed:
        wrong.fetch_token(location, auth.verifier)
    assert failed.value.error == "invalid_client"
    basic = httpx.post(
        rp.discovery["token_endpoint"],
        auth=(client_id, secret or ""),
        data={"grant_type": "authorization_code", "code": "x"},
    )
    assert basic.status_code == 401  # registered for client_secret_post only
    assert basic.headers["cache-control"] == "no-store"


def test_private_key_jwt_with_single_use_jti_and_es256_id_tokens(idp: RunningIdp) -> None:
    key = ECKey.generate_key("P-256", parameters={"kid": "rp-1"}, private=True)
    client_id, secret = _new_client(
        idp,
        auth_method="private_key_jwt",
        jwks={"keys": [key.as_dict(private=False)]},
        id_token_alg="ES256",
    )
    assert secret is None
    rp = RelyingParty(idp, client_id=client_id, client_secret="")
    auth = rp.authorization()
    browser = Browser()
    page = browser.open(auth.url)
    code = query(browser.provider_login(page, idp.username, idp.password).headers["location"])[
        "code"
    ]
    now = int(time.time())
    assertion = jwt.encode(
        {"alg": "ES256", "kid": "rp-1"},
        {
            "iss": client_id,
            "sub": client_id,
            "aud": idp.issuer,
            "exp": now + 120,
            "iat": now,
            "jti": str(uuid.uuid4()),
        },
        key,
        algorithms=["ES256"],
    )
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": auth.verifier,
        "client_id": client_id,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": assertion,
    }
    answer = httpx.post(rp.discovery["token_endpoint"], data=form)
    assert answer.status_code == 200, answer.text
    header, _ = rp.verify_id_token(answer.json()["id_token"], auth.nonce)
    assert header["alg"] == "ES256"
    introspect = {k: form[k] for k in ("client_id", "client_assertion_type", "client_assertion")}
    replay = httpx.post(
        rp.discovery["introspection_endpoint"],
        data={**introspect, "token": answer.json()["access_token"]},
    )
    assert replay.status_code == 401 and replay.json()["error"] == "invalid_client"
    far = jwt.encode(
        {"alg": "ES256", "kid": "rp-1"},
        {
            "iss": client_id,
            "sub": client_id,
            "aud": idp.issuer,
            "exp": now + 3600,
            "jti": str(uuid.uuid4()),
        },
        key,
        algorithms=["ES256"],
    )
    late = httpx.post(
        rp.discovery["introspection_endpoint"],
        data={**introspect, "client_assertion": far, "token": "x"},
    )
    assert late.status_code == 401


def test_ps256_client(idp: RunningIdp) -> None:
    client_id, secret = _new_client(idp, id_token_alg="PS256")
    rp = RelyingParty(idp, client_id=client_id, client_secret=secret)
    rp, _, auth, location = full_login(idp, rp)
    header, _ = rp.verify_id_token(rp.fetch_token(location, auth.verifier)["id_token"], auth.nonce)
    assert header["alg"] == "PS256"


def test_introspection_and_revocation(idp: RunningIdp) -> None:
    rp, _, auth, location = full_login(idp)
    token = rp.fetch_token(location, auth.verifier)
    creds = (idp.client_id, idp.client_secret)
    seen = httpx.post(
        rp.discovery["introspection_endpoint"], auth=creds, data={"token": token["access_token"]}
    ).json()
    assert seen["active"] is True and seen["sub"] == idp.pupil.account_uuid
    other_id, other_secret = _new_client(idp)
    foreign = httpx.post(
        rp.discovery["introspection_endpoint"],
        auth=(other_id, other_secret or ""),
        data={"token": token["access_token"]},
    ).json()
    assert foreign == {"active": False}  # RFC 7662 §2.2: not another client's business
    assert (
        httpx.post(
            rp.discovery["revocation_endpoint"], auth=creds, data={"token": token["access_token"]}
        ).status_code
        == 200
    )
    gone = httpx.post(
        rp.discovery["introspection_endpoint"], auth=creds, data={"token": token["access_token"]}
    ).json()
    assert gone == {"active": False}


def test_logout_ends_the_session_and_redirects_only_to_registered_uris(idp: RunningIdp) -> None:
    rp, browser, _, _ = full_login(idp)
    logout = rp.discovery["end_session_endpoint"]
    evil = browser.http.get(
        logout,
        params={
            "client_id": idp.client_id,
            "state": "s",
            "post_logout_redirect_uri": "https://evil.example/",
        },
    )
    assert evil.status_code == 400 and "location" not in evil.headers
    asked = browser.http.get(
        logout,
        params={"client_id": idp.client_id, "state": "s1", "post_logout_redirect_uri": LOGOUT_URI},
    )
    done = browser.confirm_logout(asked)  # no id_token_hint: the provider asks first
    assert done.status_code == 303
    assert done.headers["location"] == f"{LOGOUT_URI}?state=s1"
    again = browser.open(rp.authorization(prompt="none").url)
    assert query(again.headers["location"])["error"] == "login_required"


def test_ended_session_cookie_is_refused_even_when_replayed(idp: RunningIdp) -> None:
    rp, browser, _, _ = full_login(idp)
    cookie = browser.http.cookies.get("leerid_sso")
    assert cookie
    browser.confirm_logout(browser.http.get(rp.discovery["end_session_endpoint"]))
    thief = Browser()
    thief.http.cookies.set("leerid_sso", cookie, domain="127.0.0.1", path="/op")
    answer = thief.open(rp.authorization(prompt="none").url)
    assert query(answer.headers["location"])["error"] == "login_required"


def test_cookies_and_security_headers(idp: RunningIdp) -> None:
    rp = RelyingParty(idp)
    browser = Browser()
    page = browser.open(rp.authorization().url)
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src" not in csp
    assert page.headers["cache-control"] == "no-store"
    assert "<script" not in page.text
    assert 'for="username"' in page.text and 'for="password"' in page.text
    done = browser.provider_login(page, idp.username, idp.password)
    set_cookie = [v for k, v in done.headers.multi_items() if k == "set-cookie"]
    sso = next(v for v in set_cookie if v.startswith("leerid_sso="))
    assert "HttpOnly" in sso and "SameSite=lax" in sso.replace("Lax", "lax")
    assert "Secure" not in sso  # http issuer; https issuers get Secure
    english = browser.open(rp.authorization(prompt="login", ui_locales="en").url)
    assert 'lang="en"' in english.text and "Password" in english.text


def test_a_forged_login_form_is_refused(idp: RunningIdp) -> None:
    rp = RelyingParty(idp)
    victim_page = Browser().open(rp.authorization().url)
    attacker = Browser()
    # another browser, without the cookie
    forged = attacker.provider_login(victim_page, idp.username, idp.password)
    assert forged.status_code == 403 and "location" not in forged.headers


def test_key_rotation_keeps_old_keys_published(idp: RunningIdp) -> None:
    rp, _, auth, location = full_login(idp)
    old = rp.fetch_token(location, auth.verifier)["id_token"]
    env = {"LEERID_DATABASE_URL": idp.database_url, "PATH": "/usr/bin:/bin"}

    result = run_leerid(["keys", "rotate", "--now"], {**os.environ, **env})  # signs at once
    assert result.returncode == 0, result.stderr
    time.sleep(1.5)  # the servers' key cache
    rp2, _, auth2, location2 = full_login(idp)
    new = rp2.fetch_token(location2, auth2.verifier)["id_token"]
    old_kid = jwt.decode(
        old, KeySet.import_key_set(httpx.get(rp.discovery["jwks_uri"]).json())
    ).header["kid"]
    new_kid = rp2.verify_id_token(new, auth2.nonce)[0]["kid"]
    assert old_kid != new_kid
    rp.verify_id_token(old, auth.nonce)  # still verifies against the published set


def test_disclosures_are_recorded_and_listed(idp: RunningIdp) -> None:
    rp, _, auth, location = full_login(idp)
    rp.fetch_token(location, auth.verifier)
    rp.oauth.get(rp.discovery["userinfo_endpoint"])

    env = {**os.environ, "LEERID_DATABASE_URL": idp.database_url}
    result = run_leerid(
        ["disclosures", "list", "--leerid-uuid", idp.pupil.leer_id_uuid, "--json"], env
    )
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    endpoints = {r["endpoint"] for r in records}
    assert {"token", "userinfo"} <= endpoints
    token_record = next(r for r in records if r["endpoint"] == "token")
    assert token_record["client_id"] == idp.client_id
    assert token_record["protocol_id"] == idp.seed.protocol_id
    assert len(token_record["protocol_hash"]) == 64
    assert "given_name" in token_record["claims"] and "rrn" not in token_record["claims"]
    assert idp.pupil.voornaam not in result.stdout and idp.pupil.insz not in result.stdout
    none = run_leerid(["disclosures", "list"], env)
    assert none.returncode == 1 and "exactly one" in none.stderr


def test_logout_with_id_token_hint_names_the_client(idp: RunningIdp) -> None:
    rp, browser, auth, location = full_login(idp)
    hint = rp.fetch_token(location, auth.verifier)["id_token"]
    done = browser.http.get(
        rp.discovery["end_session_endpoint"],
        params={"id_token_hint": hint, "post_logout_redirect_uri": LOGOUT_URI},
    )
    assert done.status_code == 303 and done.headers["location"] == LOGOUT_URI


def test_a_disabled_client_is_refused_everywhere_within_seconds(idp: RunningIdp) -> None:
    client_id, secret = _new_client(idp)
    rp = RelyingParty(idp, client_id=client_id, client_secret=secret)
    rp, _, auth, location = full_login(idp, rp)
    token = rp.fetch_token(location, auth.verifier)
    env = {**os.environ, "LEERID_DATABASE_URL": idp.database_url}
    assert run_leerid(["clients", "disable", client_id], env).returncode == 0
    time.sleep(1.5)  # the servers' client cache
    page = Browser().open(rp.authorization().url)
    assert page.status_code == 400 and "location" not in page.headers
    info = httpx.get(
        rp.discovery["userinfo_endpoint"],
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert info.status_code == 401
    refused = httpx.post(
        rp.discovery["token_endpoint"],
        auth=(client_id, secret or ""),
        data={"grant_type": "authorization_code", "code": "x"},
    )
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
