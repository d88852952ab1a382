"""The kit that tests, bench and demo share (``leerid.testing``): its parser, rules and paths."""

from __future__ import annotations

import pytest

from leerid.errors import LeeridError
from leerid.schema import upgrade
from leerid.store.engine import make_engine
from leerid.testing import seeding
from leerid.testing.browser import Browser, forms, hidden_field, hidden_fields
from leerid.testing.relying_party import authorization_url, code_from, pkce_pair, query
from tests.idp_server import PROTOCOL_FILE, REDIRECT_URI
from tests.login.live_server import live_idp
from tests.registry_seed import add_pupil

PAGE = """
<input type="hidden" name="outside" value="1">
<form method="post" action="/op/v1/login" novalidate>
  <input type="hidden" name="request" value="a&amp;b&quot;c">
  <input name=csrf_token type=hidden value=tok-1>
  <input type="text" name="username" value="not hidden">
</form>
<FORM action='/second'><INPUT TYPE='hidden' NAME='x' VALUE=''></FORM>
"""


def test_forms_and_hidden_fields_whatever_the_attribute_order_and_quotes() -> None:
    first, second = forms(PAGE)
    assert (first.action, first.method) == ("/op/v1/login", "post")
    assert first.hidden == {"request": 'a&b"c', "csrf_token": "tok-1"}
    assert (second.action, second.method, second.hidden) == ("/second", "get", {"x": ""})
    assert hidden_fields(PAGE) == {"outside": "1", **first.hidden, "x": ""}
    assert hidden_field(PAGE, "csrf_token") == "tok-1"
    with pytest.raises(LeeridError, match="no hidden field 'username'"):
        hidden_field(PAGE, "username")


def test_an_authorization_response_is_checked_before_its_code_is_used() -> None:
    issuer = "http://127.0.0.1:1/op"
    good = f"{REDIRECT_URI}?code=c1&state=s1&iss=http%3A%2F%2F127.0.0.1%3A1%2Fop"
    assert code_from(good, "s1", issuer) == "c1" and query(good)["state"] == "s1"
    for bad in (good.replace("s1", "s2"), good.replace("iss=", "issuer="), f"{REDIRECT_URI}?x=1"):
        with pytest.raises(LeeridError, match="bad authorization response"):
            code_from(bad, "s1", issuer)
    verifier, challenge = pkce_pair()
    assert len(verifier) >= 43 and "=" not in challenge


def test_a_pupil_activates_the_schools_code_and_logs_in(database_url: str) -> None:
    """The kit's way to a password: the school's code (``issue_codes``), the activation page."""
    engine = make_engine(database_url)
    upgrade(engine)
    add_pupil(engine, "Emma", "Peeters", school="045678")
    (issued,) = seeding.issue_codes(engine, ["045678"])
    protocol_id = seeding.store_protocol(engine, PROTOCOL_FILE)
    client_id, _secret = seeding.register_client(
        engine, protocol_id=protocol_id, redirect_uris=[REDIRECT_URI]
    )
    engine.dispose()
    password = "groene kikker springt ver"
    with live_idp(database_url) as idp, Browser() as pupil:
        done = pupil.activate(idp.issuer, issued.username, issued.code, password)
        assert done.status_code == 200 and "Je account is klaar" in done.text, done.text
        _verifier, challenge = pkce_pair()
        url, state, _nonce = authorization_url(idp.issuer, client_id, REDIRECT_URI, challenge)
        answer = pupil.provider_login(pupil.open(url), issued.username, password)
        assert answer.status_code == 303, answer.text
        assert code_from(answer.headers["location"], state, idp.issuer)
    with pytest.raises(LeeridError, match="no such activation code"):
        seeding.activate(make_engine(database_url), [(issued.username, issued.code, "x")])
