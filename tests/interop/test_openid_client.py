"""panva's ``openid-client`` (npm, v6), a relying party that is not ours, in both profiles.

Issue 14, point 5. ``node/rp.mjs`` runs openid-client one step at a time: discovery and the
authorization URL (PKCE S256, state, nonce); then the callback as the browser brings it (the
redirected URL, or the form_post body as a POST request), which openid-client checks (state,
RFC 9207 iss), redeems (PKCE), and whose ID token it validates (signature through the JWKS,
iss, aud, nonce, exp) before fetching userinfo (whose sub must equal the ID token's); then
the end-session URL. The pinned version is in ``node/package-lock.json``, installed by
``make test-deps`` into ``.leerid/interop-node``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from leerid.testing.browser import Browser
from tests.interop.conftest import InteropClient, InteropIdp, form_post_fields

ROOT = Path(__file__).resolve().parents[2]
NODE_FOLDER = ROOT / ".leerid" / "interop-node"
SCRIPT = Path(__file__).resolve().parent / "node" / "rp.mjs"
REDIRECT_URI = "http://127.0.0.1/openid-client/cb"
LOGOUT_URI = "http://127.0.0.1/openid-client/bye"
SCOPE = "openid profile ov_leerling"


def installed_version() -> str:
    """openid-client's installed version; fails (never skips) with the command to install it."""
    package = NODE_FOLDER / "node_modules" / "openid-client" / "package.json"
    if not package.is_file():
        pytest.fail(f"openid-client is not installed in {NODE_FOLDER}: run `make test-deps`")
    return str(json.loads(package.read_text(encoding="utf-8"))["version"])


def rp(step: str, idp: InteropIdp, client: InteropClient, auth_method: str, **ask: Any) -> Any:
    """One step of openid-client (``node rp.mjs``); its JSON answer."""
    installed_version()
    request = {"step": step, "issuer": idp.issuer, "client_id": client.client_id}
    request.update(client_secret=client.secret, auth_method=auth_method, scope=SCOPE, **ask)
    env = {**os.environ, "LEERID_INTEROP_NODE": str(NODE_FOLDER)}
    done = subprocess.run(
        ["node", str(SCRIPT)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert done.stdout, done.stderr
    return json.loads(done.stdout)


def login(
    idp: InteropIdp,
    browser: Browser,
    client: InteropClient,
    auth_method: str,
    response_mode: str | None = None,
    *,
    pkce: bool = True,
) -> dict[str, Any]:
    """A login through openid-client: its verified claims, userinfo and ID token."""
    mode: dict[str, Any] = {"response_mode": response_mode} if response_mode else {}
    if not pkce:
        mode["pkce"] = False
    started = rp("start", idp, client, auth_method, redirect_uri=client.redirect_uri, **mode)
    assert "url" in started, started
    done = idp.log_in(browser, started["url"])
    checks = {k: started[k] for k in ("state", "nonce", "verifier")}
    if response_mode == "form_post":
        callback = {"form_post": form_post_fields(done, client.redirect_uri)}
    else:
        assert done.status_code == 303, done.text
        callback = {"callback_url": done.headers["location"]}
    answer = rp(
        "finish", idp, client, auth_method, redirect_uri=client.redirect_uri, **checks, **callback
    )
    assert "claims" in answer, answer
    return dict(answer)


@pytest.mark.live  # needs `make test-deps`, which `make test-unit` does not run
def test_the_pinned_openid_client_is_installed() -> None:
    lock = json.loads((SCRIPT.parent / "package-lock.json").read_text(encoding="utf-8"))
    assert installed_version() == lock["packages"]["node_modules/openid-client"]["version"]


def test_strict_query_s256_basic_and_logout_with_an_id_token_hint(
    interop_idp: InteropIdp, pupil_browser: Browser
) -> None:
    client = interop_idp.register("strict", REDIRECT_URI, LOGOUT_URI)
    answer = login(interop_idp, pupil_browser, client, "client_secret_basic")
    claims = answer["claims"]
    assert claims["iss"] == interop_idp.issuer and claims["aud"] == client.client_id
    assert claims["ov_account_uuid"] == interop_idp.pupil.account_uuid
    assert answer["userinfo"]["ov_account_uuid"] == interop_idp.pupil.account_uuid
    ask = {"post_logout_redirect_uri": LOGOUT_URI, "id_token_hint": answer["id_token"]}
    end = rp("logout", interop_idp, client, "client_secret_basic", **ask)
    with_hint = pupil_browser.open(end["url"])
    assert with_hint.status_code == 303 and with_hint.headers["location"].startswith(LOGOUT_URI)


def test_acm_form_post_secret_post_opaque_sub_and_logout_without_a_hint(
    interop_idp: InteropIdp, pupil_browser: Browser
) -> None:
    client = interop_idp.register("acm", REDIRECT_URI, LOGOUT_URI, auth_method="client_secret_post")
    answer = login(
        interop_idp, pupil_browser, client, "client_secret_post", response_mode="form_post"
    )
    claims = answer["claims"]
    assert claims["ov_account_uuid"] == interop_idp.pupil.account_uuid
    assert re.fullmatch(r"[0-9a-f]{40}", claims["sub"])  # ACM's kind of identifier
    assert answer["userinfo"]["sub"] == claims["sub"]  # openid-client checked it too
    end = rp(
        "logout", interop_idp, client, "client_secret_post", post_logout_redirect_uri=LOGOUT_URI
    )
    assert "id_token_hint" not in end["url"] and f"client_id={client.client_id}" in end["url"]
    at_once = pupil_browser.open(end["url"])
    assert at_once.status_code == 303 and at_once.headers["location"].startswith(LOGOUT_URI)


def test_strict_asks_the_pupil_before_a_logout_without_a_hint(
    interop_idp: InteropIdp, pupil_browser: Browser
) -> None:
    client = interop_idp.register("strict", REDIRECT_URI, LOGOUT_URI)
    login(interop_idp, pupil_browser, client, "client_secret_basic")
    end = rp(
        "logout", interop_idp, client, "client_secret_basic", post_logout_redirect_uri=LOGOUT_URI
    )
    question = pupil_browser.open(end["url"])
    assert question.status_code == 200 and 'name="confirm"' in question.text


def test_openid_client_refuses_a_response_whose_iss_is_not_the_issuer(
    interop_idp: InteropIdp, pupil_browser: Browser
) -> None:
    """RFC 9207: leerid names itself in ``iss``; openid-client compares it with discovery's."""
    client = interop_idp.register("strict", REDIRECT_URI, LOGOUT_URI)
    started = rp("start", interop_idp, client, "client_secret_basic", redirect_uri=REDIRECT_URI)
    done = interop_idp.log_in(pupil_browser, started["url"])
    location = done.headers["location"]
    assert f"iss={quote(interop_idp.issuer, safe='')}" in location
    forged = location.replace("iss=", "iss=https%3A%2F%2Fevil.example%2F&was=", 1)
    checks = {k: started[k] for k in ("state", "nonce", "verifier")}
    answer = rp(
        "finish",
        interop_idp,
        client,
        "client_secret_basic",
        redirect_uri=REDIRECT_URI,
        callback_url=forged,
        **checks,
    )
    assert answer["code"] == "OAUTH_INVALID_RESPONSE", answer
    assert '"iss"' in answer["cause"]["message"], answer
    assert "claims" not in answer


def test_acm_lets_a_confidential_client_log_in_without_pkce_and_strict_does_not(
    interop_idp: InteropIdp, pupil_browser: Browser
) -> None:
    """As ACM (issue 14 point 1): PKCE optional for a confidential client under acm only."""
    acm = interop_idp.register("acm", REDIRECT_URI, LOGOUT_URI)
    answer = login(interop_idp, pupil_browser, acm, "client_secret_basic", pkce=False)
    assert answer["claims"]["ov_account_uuid"] == interop_idp.pupil.account_uuid
    strict = interop_idp.register("strict", REDIRECT_URI, LOGOUT_URI)
    ask = {"redirect_uri": REDIRECT_URI, "pkce": False}
    started = rp("start", interop_idp, strict, "client_secret_basic", **ask)
    refused = pupil_browser.open(started["url"])  # the pupil is logged in: no form
    assert refused.status_code in (302, 303), refused.text
    checks = {k: started[k] for k in ("state", "nonce", "verifier")}
    answer = rp(
        "finish",
        interop_idp,
        strict,
        "client_secret_basic",
        redirect_uri=REDIRECT_URI,
        callback_url=refused.headers["location"],
        **checks,
    )
    assert answer["oauth_error"] == "invalid_request", answer  # openid-client read the error
    assert "code_challenge" in answer["error_description"], answer
