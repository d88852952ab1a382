"""Tests modelled on the OpenID Foundation's Basic OP checks, against a running provider."""

from __future__ import annotations

import time

import httpx
import pytest
from authlib.integrations.base_client.errors import OAuthError as AuthlibOAuthError

from tests.idp.flow import Browser, RelyingParty, full_login, query
from tests.idp_server import RunningIdp


def test_discovery_advertises_what_acm_clients_expect(idp: RunningIdp) -> None:
    doc = httpx.get(f"{idp.issuer}/.well-known/openid-configuration").json()
    assert doc["issuer"] == idp.issuer
    assert doc["authorization_endpoint"] == f"{idp.issuer}/v1/auth"
    assert doc["token_endpoint"] == f"{idp.issuer}/v1/token"
    assert doc["userinfo_endpoint"] == f"{idp.issuer}/v1/userinfo"
    assert doc["jwks_uri"] == f"{idp.issuer}/v1/keys"
    assert doc["end_session_endpoint"] == f"{idp.issuer}/v1/logout"
    assert doc["response_types_supported"] == ["code"]
    # Issue 14: what at least one profile allows (plain, fragment, form_post: acm only).
    assert doc["code_challenge_methods_supported"] == ["S256", "plain"]
    assert doc["response_modes_supported"] == ["query", "fragment", "form_post"]
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert set(doc["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    }


def test_happy_flow_signature_kid_nonce_and_claims(idp: RunningIdp) -> None:
    rp, _, auth, location = full_login(idp)
    params = query(location)
    assert location.startswith(idp.redirect_uri)
    assert params["state"] == auth.state
    assert params["iss"] == idp.issuer  # RFC 9207
    token = rp.fetch_token(location, auth.verifier)
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 3600
    assert "refresh_token" not in token  # no offline_access asked
    header, claims = rp.verify_id_token(token["id_token"], auth.nonce)
    assert header["alg"] == "RS256"
    assert claims["sub"] == idp.pupil.account_uuid
    assert claims["exp"] - claims["iat"] == 3600
    assert abs(claims["auth_time"] - time.time()) < 120
    assert claims["at_hash"] and claims["acr"]
    assert claims["given_name"] == idp.pupil.voornaam
    assert claims["family_name"] == idp.pupil.naam
    assert claims["ov_account_uuid"] == idp.pupil.account_uuid
    assert claims["ov_leerid_uuid"] == idp.pupil.leer_id_uuid
    assert claims["ov_orgcode"] == [idp.pupil.school]
    assert claims["ov_historiek_account_uuid"] == []
    assert "rrn" not in claims  # the seed protocol records no decretal basis (art. 3)


def test_userinfo_by_get_and_post_gives_the_id_token_claims(idp: RunningIdp) -> None:
    rp, _, auth, location = full_login(idp)
    token = rp.fetch_token(location, auth.verifier)
    _, claims = rp.verify_id_token(token["id_token"], auth.nonce)
    by_get = rp.oauth.get(rp.discovery["userinfo_endpoint"])
    assert by_get.status_code == 200
    assert by_get.headers["cache-control"] == "no-store"
    by_post = httpx.post(
        rp.discovery["userinfo_endpoint"], data={"access_token": token["access_token"]}
    )
    assert by_post.status_code == 200
    assert by_get.json() == by_post.json()
    assert by_get.json() == {k: v for k, v in claims.items() if k in by_get.json()}
    assert set(by_get.json()) == {
        "sub",
        "given_name",
        "family_name",
        "ov_account_uuid",
        "ov_leerid_uuid",
        "ov_historiek_account_uuid",
        "ov_orgcode",
    }
    bad = httpx.get(
        rp.discovery["userinfo_endpoint"], headers={"Authorization": "Bearer not-a-token"}
    )
    assert bad.status_code == 401
    assert 'error="invalid_token"' in bad.headers["www-authenticate"]


def test_code_reuse_is_refused_and_revokes_its_tokens(idp: RunningIdp) -> None:
    rp, _, auth, location = full_login(idp)
    token = rp.fetch_token(location, auth.verifier)
    with pytest.raises(AuthlibOAuthError) as reuse:
        rp.fetch_token(location, auth.verifier)
    assert reuse.value.error == "invalid_grant"
    after = httpx.get(
        rp.discovery["userinfo_endpoint"],
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert after.status_code == 401


def test_unregistered_redirect_uri_gets_an_error_page_never_a_redirect(idp: RunningIdp) -> None:
    rp = RelyingParty(idp)
    auth = rp.authorization()
    url = auth.url.replace("127.0.0.1%2Fcb", "evil.example%2Fcb")
    assert "evil.example" in url
    page = Browser().open(url)
    assert page.status_code == 400
    assert "location" not in page.headers
    assert "terugkeeradres" in page.text
    unknown = Browser().open(auth.url.replace(idp.client_id, "no-such-client"))
    assert unknown.status_code == 400 and "location" not in unknown.headers


def _auth_error(idp: RunningIdp, **extra: str) -> dict[str, str]:
    rp = RelyingParty(idp)
    auth = rp.authorization(**extra)
    response = Browser().open(auth.url)
    assert response.status_code == 303, response.text
    params = query(response.headers["location"])
    assert params["state"] == auth.state and params["iss"] == idp.issuer
    return params


def test_scope_outside_the_protocol_is_refused_before_any_login(idp: RunningIdp) -> None:
    assert _auth_error(idp, scope="openid rrn")["error"] == "invalid_scope"
    assert _auth_error(idp, scope="profile")["error"] == "invalid_scope"  # no openid


def test_only_the_code_flow(idp: RunningIdp) -> None:
    rp = RelyingParty(idp)
    auth = rp.authorization()
    response = Browser().open(auth.url.replace("response_type=code", "response_type=token"))
    assert query(response.headers["location"])["error"] == "unsupported_response_type"


def test_pkce_s256_is_required_and_checked(idp: RunningIdp) -> None:
    rp = RelyingParty(idp)
    auth = rp.authorization()
    no_pkce = auth.url.split("&code_challenge=")[0] + "&state=" + auth.state
    response = Browser().open(no_pkce)
    assert query(response.headers["location"])["error"] == "invalid_request"
    plain = auth.url.replace("code_challenge_method=S256", "code_challenge_method=plain")
    assert query(Browser().open(plain).headers["location"])["error"] == "invalid_request"
    rp, _, auth, location = full_login(idp)
    with pytest.raises(AuthlibOAuthError) as wrong:
        rp.fetch_token(location, "x" * 50)
    assert wrong.value.error == "invalid_grant"


def test_prompt_none_login_and_max_age(idp: RunningIdp) -> None:
    assert _auth_error(idp, prompt="none")["error"] == "login_required"
    rp, browser, _, _ = full_login(idp)
    # SSO: a second authorization needs no password, even with prompt=none.
    for extra in ({}, {"prompt": "none"}, {"max_age": "3600"}):
        auth = rp.authorization(**extra)
        response = browser.open(auth.url)
        assert response.status_code == 303, extra
        assert "code" in query(response.headers["location"])
    # prompt=login and an exceeded max_age ask for the password again.
    for extra in ({"prompt": "login"}, {"max_age": "0"}):
        time.sleep(1.1)
        page = browser.open(rp.authorization(**extra).url)
        assert page.status_code == 200 and 'name="password"' in page.text, extra
    auth = rp.authorization(max_age="0")
    page = browser.open(auth.url)
    done = browser.provider_login(page, idp.username, idp.password)
    token = rp.fetch_token(done.headers["location"], auth.verifier)
    _, claims = rp.verify_id_token(token["id_token"], auth.nonce)
    assert abs(claims["auth_time"] - time.time()) < 5


def test_id_token_hint_of_another_pupil_needs_a_login(idp: RunningIdp) -> None:
    rp, browser, auth, location = full_login(idp)
    hint = rp.fetch_token(location, auth.verifier)["id_token"]
    again = browser.open(rp.authorization(prompt="none", id_token_hint=hint).url)
    assert "code" in query(again.headers["location"])
    bad = _auth_error(idp, id_token_hint=hint[:-4] + "AAAA")
    assert bad["error"] == "invalid_request"


def test_unknown_username_and_wrong_password_look_the_same(idp: RunningIdp) -> None:
    rp = RelyingParty(idp)
    pages = []
    for username, password in ((idp.username, "wrong-password"), ("nobody.here", "whatever1")):
        browser = Browser()
        page = browser.open(rp.authorization().url)
        answer = browser.provider_login(page, username, password)
        assert answer.status_code == 200
        pages.append(answer.text.replace(username, "USER"))
    strip = [
        p.split('name="request" value="')[0] + p.split('name="csrf_token"')[1][60:] for p in pages
    ]
    assert "klopt niet" in pages[0]
    assert strip[0].split("<form")[0] == strip[1].split("<form")[0]


def _token(
    idp: RunningIdp, form: dict[str, str], auth: tuple[str, str] | None = None
) -> httpx.Response:
    return httpx.post(
        f"{idp.issuer}/v1/token", auth=auth or (idp.client_id, idp.client_secret), data=form
    )


def test_token_endpoint_errors_are_rfc6749_section_5_2(idp: RunningIdp) -> None:
    _, _, auth, location = full_login(idp)
    code = query(location)["code"]
    base = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": idp.redirect_uri,
        "code_verifier": auth.verifier,
    }
    wrong_uri = _token(idp, {**base, "redirect_uri": "http://127.0.0.1/other"})
    assert wrong_uri.status_code == 400 and wrong_uri.json()["error"] == "invalid_grant"
    assert wrong_uri.headers["cache-control"] == "no-store"
    unsupported = _token(idp, {**base, "grant_type": "password"})
    assert unsupported.json()["error"] == "unsupported_grant_type"
    no_auth = httpx.post(f"{idp.issuer}/v1/token", data=base)
    assert no_auth.status_code == 401 and no_auth.json()["error"] == "invalid_client"
    bad_secret = _token(idp, base, auth=(idp.client_id, "wrong"))
    assert bad_secret.status_code == 401
    assert bad_secret.headers["www-authenticate"].startswith("Basic")
    ok = _token(idp, base)  # the failures above did not spend the code
    assert ok.status_code == 200, ok.text


def test_authorization_by_post_and_a_repeated_parameter(idp: RunningIdp) -> None:
    rp = RelyingParty(idp)
    auth = rp.authorization()
    params = query(auth.url)
    page = Browser().http.post(f"{idp.issuer}/v1/auth", data=params)
    assert page.status_code == 200 and 'name="password"' in page.text
    twice = Browser().open(auth.url + "&scope=openid")
    assert query(twice.headers["location"])["error"] == "invalid_request"
