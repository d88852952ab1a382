"""Issue 14 point 2: ``sub`` as ACM issues it, against a running provider (both backends).

A client registered with subject type ``opaque`` (the default under ``--profile acm``) gets
in ``sub`` a stable 40-hex identifier per pupil account, the same for every opaque client,
never the account_uuid; ``ov_account_uuid`` stays the account. A client with ``account_uuid``
keeps the account_uuid in ``sub``.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from leerid.idp.store.clients import add_client
from leerid.idp.store.disclosures import pupil_history
from leerid.idp.web.my_data import OPAQUE_SUB_WORDS
from leerid.store.engine import make_engine
from leerid.testing.relying_party import token_form
from tests.idp.flow import Browser, RelyingParty, full_login, query
from tests.idp_server import (
    LOGOUT_URI,
    REDIRECT_URI,
    RunningIdp,
    offline_client,
    seed_pupil,
    start_idp,
)

FORTY_HEX = re.compile(r"[0-9a-f]{40}")


def _client(idp: RunningIdp, **options: object) -> RelyingParty:
    """A relying party for a new client of ``idp``'s protocol (``options`` as add_client)."""
    engine = make_engine(idp.database_url)
    options.setdefault("name", "Opaque app")
    client, secret = add_client(
        engine,
        protocol_id=idp.seed.protocol_id,
        redirect_uris=[REDIRECT_URI],
        post_logout_redirect_uris=[LOGOUT_URI],
        **options,  # type: ignore[arg-type]
    )
    engine.dispose()
    return RelyingParty(idp, client_id=client.client_id, client_secret=secret)


def _login(
    idp: RunningIdp, rp: RelyingParty, browser: Browser | None = None
) -> tuple[dict[str, Any], dict[str, Any], Browser]:
    """The token answer and the verified ID token's claims of a login (SSO when the browser
    has a session)."""
    browser = browser or Browser()
    auth = rp.authorization()
    page = browser.open(auth.url)
    if page.status_code == 200:
        page = browser.provider_login(page, idp.username, idp.password)
    assert page.status_code == 303, page.text
    token = rp.fetch_token(page.headers["location"], auth.verifier)
    _, claims = rp.verify_id_token(token["id_token"], auth.nonce)
    return token, claims, browser


def test_an_opaque_client_and_a_strict_client_see_the_same_pupil_by_their_own_sub(
    idp: RunningIdp,
) -> None:
    pupil = idp.pupil
    _, strict, browser = _login(idp, RelyingParty(idp))
    assert strict["sub"] == pupil.account_uuid == strict["ov_account_uuid"]
    opaque_rp = _client(idp, subject="opaque")
    token, opaque, _ = _login(idp, opaque_rp, browser)  # same browser: single sign-on
    sub = opaque["sub"]
    assert FORTY_HEX.fullmatch(sub), sub
    assert sub not in {pupil.account_uuid, pupil.leer_id_uuid}
    assert pupil.account_uuid.replace("-", "") not in sub
    assert opaque["ov_account_uuid"] == pupil.account_uuid  # the account, as ACM's
    info = opaque_rp.userinfo(token["access_token"])
    assert info.status_code == 200 and info.json()["sub"] == sub  # OIDC Core §5.3.2
    assert info.json()["ov_account_uuid"] == pupil.account_uuid
    # stable: a new login (another browser) and another opaque client (profile acm) agree
    _, again, _ = _login(idp, opaque_rp)
    _, acm, _ = _login(idp, _client(idp, profile="acm"), browser)
    assert again["sub"] == acm["sub"] == sub
    _, strict_again, _ = _login(idp, RelyingParty(idp), browser)
    assert strict_again["sub"] == pupil.account_uuid


def test_a_second_node_issues_and_answers_the_same_sub(idp: RunningIdp) -> None:
    """Two nodes of one issuer share the secret: the ID token of node two, its userinfo and
    node one's agree."""
    rp = _client(idp, subject="opaque")
    token, claims, browser = _login(idp, rp)
    sub = claims["sub"]
    two = start_idp(idp.database_url, more_env={"LEERID_ISSUER": idp.issuer})
    try:
        bearer = {"Authorization": f"Bearer {token['access_token']}"}
        info = httpx.get(f"{two.base_url}/op/v1/userinfo", headers=bearer)
        assert info.status_code == 200 and info.json()["sub"] == sub
        auth = rp.authorization(prompt="none")
        sso = browser.open(auth.url.replace(idp.base_url, two.base_url))
        form = token_form(query(sso.headers["location"])["code"], REDIRECT_URI, auth.verifier)
        secret = str(rp.oauth.client_secret)
        answer = httpx.post(
            f"{two.base_url}/op/v1/token", auth=(str(rp.oauth.client_id), secret), data=form
        )
        assert answer.status_code == 200, answer.text
        _, on_two = rp.verify_id_token(answer.json()["id_token"], auth.nonce)
        assert on_two["sub"] == sub
    finally:
        two.stop()


def test_introspection_and_refresh_name_the_pupil_as_the_client_knows_them(
    idp: RunningIdp,
) -> None:
    client_id, secret = offline_client(idp.database_url, subject="opaque")
    rp = RelyingParty(
        idp, client_id=client_id, client_secret=secret, scope="openid ov_leerling offline_access"
    )
    token, claims, _ = _login(idp, rp)
    sub = claims["sub"]
    assert FORTY_HEX.fullmatch(sub) and sub != idp.pupil.account_uuid
    endpoint = rp.discovery["introspection_endpoint"]
    for presented in (token["access_token"], token["refresh_token"]):
        answer = httpx.post(endpoint, auth=(client_id, secret), data={"token": presented})
        assert answer.status_code == 200 and answer.json()["active"] is True
        assert answer.json()["sub"] == sub
    refreshed = rp.oauth.refresh_token(
        rp.discovery["token_endpoint"], refresh_token=token["refresh_token"]
    )
    _, again = rp.verify_id_token(refreshed["id_token"], None)
    assert again["sub"] == sub and again["ov_account_uuid"] == idp.pupil.account_uuid
    info = rp.userinfo(refreshed["access_token"])
    assert info.json()["sub"] == sub
    # The disclosure log keeps the account, not the value sent: the pupil's history finds
    # the introspections (what was disclosed is the claim ``sub``).
    engine = make_engine(idp.database_url)
    history = pupil_history(engine, account_uuid=idp.pupil.account_uuid, client_id=client_id)
    engine.dispose()
    endpoints = [r.endpoint for r in history]
    assert endpoints.count("introspect") == 2 and endpoints.count("token") == 2
    assert all(r.claims == ("sub",) for r in history if r.endpoint == "introspect")


def test_an_id_token_hint_of_an_opaque_client_is_understood(idp: RunningIdp) -> None:
    rp = _client(idp, profile="acm")
    token, _, browser = _login(idp, rp)
    hint = token["id_token"]
    again = browser.open(rp.authorization(prompt="none", id_token_hint=hint).url)
    assert again.status_code == 303 and "code" in query(again.headers["location"])
    # Another pupil's hint from the same client asks for a login (prompt=none: an error).
    other = seed_pupil(idp.database_url, voornaam="Mila")
    with Browser() as theirs:
        auth = rp.authorization()
        done = theirs.provider_login(theirs.open(auth.url), other.username, other.password)
        their_hint = rp.fetch_token(done.headers["location"], auth.verifier)["id_token"]
    refused = browser.open(rp.authorization(prompt="none", id_token_hint=their_hint).url)
    assert query(refused.headers["location"])["error"] == "login_required"
    # RP-Initiated Logout §2: the hint names the logged-in pupil, so no question is asked.
    done = browser.http.get(
        rp.discovery["end_session_endpoint"],
        params={"id_token_hint": hint, "post_logout_redirect_uri": LOGOUT_URI, "state": "s"},
    )
    assert done.status_code == 303 and done.headers["location"] == f"{LOGOUT_URI}?state=s"
    page = browser.open(rp.authorization().url)
    assert page.status_code == 200 and 'name="password"' in page.text  # logged out


def test_a_strict_clients_hint_for_another_pupil_still_asks_before_logout(
    idp: RunningIdp,
) -> None:
    other = seed_pupil(idp.database_url, voornaam="Noor")
    rp = RelyingParty(idp)
    with Browser() as theirs:
        auth = rp.authorization()
        done = theirs.provider_login(theirs.open(auth.url), other.username, other.password)
        their_hint = rp.fetch_token(done.headers["location"], auth.verifier)["id_token"]
    browser = Browser()
    full_login(idp, rp, browser)
    asked = browser.http.get(
        rp.discovery["end_session_endpoint"],
        params={"id_token_hint": their_hint, "post_logout_redirect_uri": LOGOUT_URI},
    )
    assert asked.status_code == 200 and 'name="confirm"' in asked.text


def test_the_pupils_page_says_what_an_opaque_sub_is(idp: RunningIdp) -> None:
    _, _, browser = _login(idp, _client(idp, subject="opaque", name="Codeschool"))
    page = browser.open(f"{idp.issuer}/v1/mijn-gegevens")
    assert page.status_code == 200
    assert OPAQUE_SUB_WORDS in page.text and "Codeschool" in page.text
