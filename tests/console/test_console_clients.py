"""``/beheer/clients`` (issue 13): protocol, redirect URIs, keys without key material, last
activity; both roles."""

from __future__ import annotations

import httpx
from joserfc.jwk import ECKey

from leerid.store.engine import make_engine
from leerid.testing import seeding
from tests.console.conftest import DPO, OPERATOR, ConsoleSite
from tests.idp_server import REDIRECT_URI


def test_clients_with_keys_but_no_key_material(site: ConsoleSite) -> None:
    key = ECKey.generate_key("P-256", parameters={"kid": "lars-sleutel-1"}, private=True)
    public = key.as_dict(private=False)
    engine = make_engine(site.idp.database_url)
    try:
        client_id, _ = seeding.register_client(
            engine,
            protocol_id=site.idp.seed.protocol_id,
            redirect_uris=["https://lars.example/terug"],
            name="LARS met sleutel",
            auth_method="private_key_jwt",
            jwks={"keys": [public]},
            id_token_alg="ES256",
        )
    finally:
        engine.dispose()
    for who in (OPERATOR, DPO):
        with site.browser(who) as browser:
            page = browser.open(f"{site.base}/beheer/clients")
            assert page.status_code == 200
            text = page.text
            assert client_id in text and site.idp.client_id in text
            assert "lars-sleutel-1" in text and "ES256" in text
            assert str(public["x"]) not in text and str(public["y"]) not in text
            assert REDIRECT_URI in text and "https://lars.example/terug" in text
            assert site.idp.seed.protocol_id in text


def test_last_activity_follows_a_disclosure(site: ConsoleSite) -> None:
    from tests.idp.flow import full_login

    with site.browser(OPERATOR) as browser:
        before = browser.open(f"{site.base}/beheer/clients").text
    assert "nog geen" in before
    rp, _browser, auth, location = full_login(site.idp)
    rp.fetch_token(location, auth.verifier)
    with site.browser(OPERATOR) as browser:
        after = browser.open(f"{site.base}/beheer/clients").text
    assert after.count("nog geen") < before.count("nog geen")


def test_without_a_session_no_client_list(site: ConsoleSite) -> None:
    answer = httpx.get(f"{site.base}/beheer/clients")
    assert answer.status_code == 303
