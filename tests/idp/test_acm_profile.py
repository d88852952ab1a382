"""Issue 14 §1: a client of the ``acm`` profile gets ACM/IDM's relaxations, a ``strict`` one
none of them; each checked against a running provider on both backends."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from leerid.idp.store.clients import add_client
from leerid.store.engine import make_engine
from leerid.testing.browser import forms
from leerid.testing.relying_party import basic_auth, pkce_pair
from tests.conftest import run_leerid
from tests.idp.flow import Browser
from tests.idp_server import LOGOUT_URI, REDIRECT_URI, RunningIdp

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ACR = "urn:be:vlaanderen:authmech:password"


def _register(idp: RunningIdp, profile: str, **options: object) -> tuple[str, str]:
    engine = make_engine(idp.database_url)
    client, secret = add_client(
        engine,
        name=f"ACM app ({profile})",
        protocol_id=idp.seed.protocol_id,
        redirect_uris=[REDIRECT_URI],
        post_logout_redirect_uris=[LOGOUT_URI],
        profile=profile,
        **options,  # type: ignore[arg-type]
    )
    engine.dispose()
    return client.client_id, secret or ""


@pytest.fixture(scope="module")
def acm(idp: RunningIdp) -> tuple[str, str]:
    """An acm client (client_secret_basic), seen by the server after its 1 s cache."""
    registered = _register(idp, "acm")
    time.sleep(1.2)
    return registered


@pytest.fixture(scope="module")
def browser(idp: RunningIdp, acm: tuple[str, str]) -> Iterator[Browser]:
    """A pupil's browser, logged in once (single sign-on after that)."""
    with Browser() as pupil:
        answer = _authorize(pupil, idp, acm[0], pkce_pair()[1])
        assert answer.status_code == 200 and 'name="password"' in answer.text
        assert pupil.provider_login(answer, idp.username, idp.password).status_code == 303
        yield pupil


def _authorize(
    browser: Browser, idp: RunningIdp, client_id: str, challenge: str | None, **extra: str
) -> httpx.Response:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile",
        "state": "s-" + uuid.uuid4().hex,
        "nonce": "n-" + uuid.uuid4().hex,
        **({} if challenge is None else {"code_challenge": challenge}),
        **({"code_challenge_method": "S256"} if challenge is not None else {}),
        **extra,
    }
    sent = {name: value for name, value in params.items() if value != ""}  # "": left out
    return browser.open(f"{idp.issuer}/v1/auth?{urlencode(sent)}")


def _answer(response: httpx.Response, mode: str) -> dict[str, str]:
    """The parameters of an authorization answer, read as the client would in ``mode``."""
    if mode == "form_post":
        assert response.status_code == 200, response.text
        (form,) = forms(response.text)
        assert form.action == REDIRECT_URI  # the registered redirect_uri, nothing else
        return form.hidden
    assert response.status_code == 303, response.text
    parts = urlsplit(response.headers["location"])
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == REDIRECT_URI
    if mode == "fragment":
        assert not parts.query
        return {k: v[0] for k, v in parse_qs(parts.fragment).items()}
    assert not parts.fragment
    return {k: v[0] for k, v in parse_qs(parts.query).items()}


def _token(
    idp: RunningIdp, client: tuple[str, str], code: str, verifier: str | None
) -> httpx.Response:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    if verifier is not None:
        form["code_verifier"] = verifier
    return httpx.post(f"{idp.issuer}/v1/token", data=form, headers=basic_auth(*client))


@pytest.mark.parametrize("mode", ["query", "fragment", "form_post"])
def test_an_acm_client_gets_its_code_in_each_response_mode(
    idp: RunningIdp, acm: tuple[str, str], browser: Browser, mode: str
) -> None:
    """Multiple Response Types §2.1, Form Post §2: code, state and iss in the mode asked."""
    verifier, challenge = pkce_pair()
    response = _authorize(browser, idp, acm[0], challenge, response_mode=mode)
    params = _answer(response, mode)
    assert params["iss"] == idp.issuer and params["state"].startswith("s-")
    token = _token(idp, acm, params["code"], verifier)
    assert token.status_code == 200, token.text
    keys = KeySet.import_key_set(httpx.get(f"{idp.issuer}/v1/keys").json())
    id_token = jwt.decode(token.json()["id_token"], keys, algorithms=["RS256", "ES256", "PS256"])
    assert id_token.claims["acr"] == ACR  # ACM's URN for a username and password


def test_the_form_post_page_runs_only_its_own_script(
    idp: RunningIdp, acm: tuple[str, str], browser: Browser
) -> None:
    """Form Post §5: no caching; the CSP allows the one script by its hash, nothing inline;
    Referrer-Policy origin, so that the browser's POST says where it comes from."""
    response = _authorize(browser, idp, acm[0], pkce_pair()[1], response_mode="form_post")
    (csp,) = response.headers.get_list("content-security-policy")
    assert response.headers["cache-control"] == "no-store"
    # the POST carries Origin: the provider's origin, not null (an Origin CSRF check passes)
    assert response.headers.get_list("referrer-policy") == ["origin"]
    script = re.search(r"<script>(.*?)</script>", response.text, re.S)
    assert script is not None
    digest = base64.b64encode(hashlib.sha256(script.group(1).encode()).digest()).decode()
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == f"'sha256-{digest}'"
    assert directives["default-src"] == "'none'" and "unsafe-inline" not in csp
    assert "<noscript><button" in response.text  # browsers without scripts press a button


@pytest.mark.parametrize("mode", ["fragment", "form_post"])
def test_errors_travel_in_the_mode_asked(
    idp: RunningIdp, acm: tuple[str, str], browser: Browser, mode: str
) -> None:
    """RFC 6749 §4.1.2.1 errors, with state and iss (RFC 9207), in the requested mode."""
    response = _authorize(browser, idp, acm[0], pkce_pair()[1], response_mode=mode, scope="x")
    params = _answer(response, mode)
    assert params["error"] == "invalid_scope" and params["iss"] == idp.issuer
    assert params["state"].startswith("s-")


def test_an_unchecked_redirect_uri_gets_an_error_page_never_a_post(
    idp: RunningIdp, acm: tuple[str, str], browser: Browser
) -> None:
    """RFC 6749 §4.1.2.1, §10.15: before redirect_uri is trusted, only a page of ours."""
    response = _authorize(
        browser,
        idp,
        acm[0],
        pkce_pair()[1],
        response_mode="form_post",
        redirect_uri="https://evil.example/cb",
    )
    assert response.status_code == 400 and "evil.example" not in response.text
    assert not forms(response.text)


def test_a_strict_client_still_gets_every_refusal(idp: RunningIdp, browser: Browser) -> None:
    """Issue 14 §1: strict is today's behaviour: query only, S256 required."""
    cases = [
        ({"response_mode": "form_post"}, "response_mode form_post is not allowed"),
        ({"response_mode": "fragment"}, "response_mode fragment is not allowed"),
        ({"code_challenge_method": "plain"}, "code_challenge_method must be S256"),
    ]
    for extra, description in cases:
        response = _authorize(browser, idp, idp.client_id, pkce_pair()[1], **extra)
        params = _answer(response, "query")  # errors of a strict client: always by query
        assert params["error"] == "invalid_request"
        assert params["error_description"].startswith(description)
    missing = _answer(_authorize(browser, idp, idp.client_id, None), "query")
    assert missing["error_description"].startswith("code_challenge is required")


def test_pkce_may_be_left_out_by_an_acm_client_but_not_downgraded(
    idp: RunningIdp, acm: tuple[str, str], browser: Browser
) -> None:
    """Issue 14 §1 (as ACM) and RFC 9700 §4.8.2: a verifier for a code issued without a
    challenge is refused (the downgrade attack), the code without one works; without PKCE a
    nonce is required (RFC 9700 §2.1.1, §4.5.3.2: it protects against code injection)."""
    downgraded = _answer(_authorize(browser, idp, acm[0], None), "query")["code"]
    refused = _token(idp, acm, downgraded, pkce_pair()[0])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    assert "without a code_challenge" in refused.json()["error_description"]
    without = _answer(_authorize(browser, idp, acm[0], None), "query")["code"]
    assert _token(idp, acm, without, None).status_code == 200
    bare = _answer(_authorize(browser, idp, acm[0], None, nonce=""), "query")  # RFC 9700 §2.1.1
    assert bare["error"] == "invalid_request" and "code" not in bare
    assert bare["error_description"].startswith("nonce is required")


def test_a_plain_challenge_needs_the_same_verifier(
    idp: RunningIdp, acm: tuple[str, str], browser: Browser
) -> None:
    """RFC 7636 §4.6: plain means verifier == challenge; S256 a code still needs it."""
    verifier = pkce_pair()[0]
    for sent, status in ((pkce_pair()[0], 400), (None, 400), (verifier, 200)):
        answer = _authorize(browser, idp, acm[0], verifier, code_challenge_method="plain")
        assert _token(idp, acm, _answer(answer, "query")["code"], sent).status_code == status
    verifier, challenge = pkce_pair()
    code = _answer(_authorize(browser, idp, acm[0], challenge), "query")["code"]
    assert _token(idp, acm, code, None).status_code == 400  # a challenge needs its verifier


def _assertion(key: ECKey, client_id: str, aud: str, lifetime: int) -> str:
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": aud, "iat": now}
    claims |= {"exp": now + lifetime, "jti": str(uuid.uuid4())}
    return jwt.encode({"alg": "ES256", "kid": "acm"}, claims, key, algorithms=["ES256"])


def test_a_nine_minute_assertion_passes_for_acm_only(idp: RunningIdp) -> None:
    """RFC 7523 §3; issue 14 §1: ACM's samples live 8-10 minutes; strict allows 5."""
    key = ECKey.generate_key("P-256", parameters={"kid": "acm"}, private=True)
    jwks = {"keys": [key.as_dict(private=False)]}
    acm_id = _register(idp, "acm", auth_method="private_key_jwt", jwks=jwks)[0]
    strict_id = _register(idp, "strict", auth_method="private_key_jwt", jwks=jwks)[0]
    time.sleep(1.2)
    endpoint = f"{idp.issuer}/v1/introspect"

    def introspect(client_id: str) -> httpx.Response:
        form = {"client_id": client_id, "client_assertion_type": ASSERTION_TYPE}
        form |= {"client_assertion": _assertion(key, client_id, endpoint, 540), "token": "x"}
        return httpx.post(endpoint, data=form)

    assert introspect(acm_id).json() == {"active": False}
    refused = introspect(strict_id)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert "5 minutes" in refused.json()["error_description"]
    assert "(strict)" in refused.json()["error_description"]


def _logout(browser: Browser, idp: RunningIdp, client_id: str, target: str) -> httpx.Response:
    params = {"client_id": client_id, "post_logout_redirect_uri": target, "state": "bye-1"}
    return browser.open(f"{idp.issuer}/v1/logout?{urlencode(params)}")


def _logged_in(idp: RunningIdp, client_id: str) -> Browser:
    pupil = Browser()
    page = _authorize(pupil, idp, client_id, pkce_pair()[1])
    assert pupil.provider_login(page, idp.username, idp.password).status_code == 303
    return pupil


def test_logout_is_at_once_for_acm_with_a_registered_uri_only(
    idp: RunningIdp, acm: tuple[str, str]
) -> None:
    """OIDC RP-Initiated Logout §2; issue 14 §1: acm + registered URI ends the session at
    once; strict asks; an unregistered URI is an error page (no open redirect)."""
    with _logged_in(idp, acm[0]) as pupil:
        foreign = _logout(pupil, idp, acm[0], "https://evil.example/bye")
        assert foreign.status_code == 400 and "location" not in foreign.headers
        asked = _logout(pupil, idp, idp.client_id, LOGOUT_URI)  # strict: the question
        assert asked.status_code == 200 and 'name="confirm"' in asked.text
        done = _logout(pupil, idp, acm[0], LOGOUT_URI)
        assert done.status_code == 303
        assert done.headers["location"] == f"{LOGOUT_URI}?state=bye-1"
        again = _authorize(pupil, idp, acm[0], pkce_pair()[1])  # the session has ended
        assert again.status_code == 200 and 'name="password"' in again.text


def test_clients_show_lists_the_relaxations(
    idp: RunningIdp, acm: tuple[str, str], tmp_path: Path
) -> None:
    """Issue 14 §1: ``leerid clients show`` names each relaxation of an acm client."""
    env = dict(os.environ, LEERID_DATABASE_URL=idp.database_url, LEERID_HOME=str(tmp_path))
    shown = run_leerid(["clients", "show", acm[0]], env)
    assert shown.returncode == 0, shown.stderr
    for words in ("form_post", "PKCE optional", "10 minutes", "logout at once"):
        assert words in shown.stdout
    strict = run_leerid(["clients", "show", idp.client_id], env)
    assert "form_post" not in strict.stdout and "PKCE optional" not in strict.stdout


def test_acr_is_acms_urn_whatever_acr_values_asks(
    idp: RunningIdp, acm: tuple[str, str], browser: Browser
) -> None:
    """OIDC Core §3.1.2.1, §5.5.1.1: acr_values is voluntary; the ID token names the means
    used (ACM's URN), and discovery lists it in acr_values_supported."""
    doc = httpx.get(f"{idp.issuer}/.well-known/openid-configuration").json()
    assert doc["acr_values_supported"] == [ACR]
    keys = KeySet.import_key_set(httpx.get(f"{idp.issuer}/v1/keys").json())
    for asked in (ACR, "urn:be:vlaanderen:authmech:eid"):
        verifier, challenge = pkce_pair()
        answer = _answer(_authorize(browser, idp, acm[0], challenge, acr_values=asked), "query")
        token = _token(idp, acm, answer["code"], verifier).json()
        claims = jwt.decode(token["id_token"], keys, algorithms=["RS256", "ES256", "PS256"]).claims
        assert claims["acr"] == ACR
