"""Art. 5 in the model: data "telkens de leerling inlogt", so no refresh tokens unless allowed."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from leerid.idp.oauth.authorization_request import check_parameters
from leerid.idp.oauth.errors import AuthorizationError
from leerid.idp.release import BoundProtocol
from leerid.protocol import (
    OFFLINE_ACCESS,
    Protocol,
    allowed_scopes,
    allows_disclosure_without_login,
    requestable_scopes,
)
from leerid.protocol.render import render
from leerid.protocol.schema import json_schema_text
from tests.protocol.helpers import seed, seed_data
from tests.protocol.test_checks import warnings_for
from tests.protocol.test_release import protocols

CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # RFC 7636 appendix B


def with_offline(allowed: bool, data: dict[str, Any] | None = None) -> Protocol:
    """The seed (or ``data``) with ``communication.disclosure_without_login`` set."""
    data = seed_data() if data is None else data
    data["communication"]["disclosure_without_login"] = allowed
    return Protocol.model_validate(data)


def bound(protocol: Protocol) -> BoundProtocol:
    return BoundProtocol(protocol.id, 1, "h", protocol)


def test_the_seed_does_not_allow_disclosure_without_a_login() -> None:
    assert seed().communication.disclosure_without_login is False
    assert not allows_disclosure_without_login(seed())
    assert OFFLINE_ACCESS not in requestable_scopes(seed())
    assert requestable_scopes(seed()) == allowed_scopes(seed())
    assert not bound(seed()).allows_refresh()


def test_absent_means_not_allowed() -> None:
    data = seed_data()
    del data["communication"]["disclosure_without_login"]
    assert not allows_disclosure_without_login(Protocol.model_validate(data))


def test_allowed_only_when_the_protocol_says_so() -> None:
    allowing = with_offline(True)
    assert requestable_scopes(allowing) == allowed_scopes(allowing) | {OFFLINE_ACCESS}
    assert bound(allowing).allows_refresh()
    assert OFFLINE_ACCESS in bound(allowing).allowed_scopes()


def test_the_schema_describes_the_field_with_art_5() -> None:
    schema = json.loads(json_schema_text())
    field = schema["$defs"]["Communication"]["properties"]["disclosure_without_login"]
    assert field["type"] == "boolean" and field["default"] is False
    assert "Art. 5" in field["description"]


def test_the_field_changes_no_word_of_the_rendered_text() -> None:
    def words(protocol: Protocol, fmt: str) -> str:  # the content hash differs, of course
        return re.sub(r"\b[0-9a-f]{64}\b", "HASH", render(protocol, fmt))

    for fmt in ("html", "md"):
        assert words(with_offline(True), fmt) == words(seed(), fmt)


def test_check_warns_when_allowed_without_a_basis() -> None:
    data = seed_data()
    data["communication"]["disclosure_without_login"] = True
    found = warnings_for(yaml.safe_dump(data, allow_unicode=True))
    warning = found["communication.disclosure_without_login"]
    assert "offline_access" in warning and "at_every_login" in warning
    seed_found = warnings_for(yaml.safe_dump(seed_data(), allow_unicode=True))
    assert "communication.disclosure_without_login" not in seed_found


def _checked(protocol: Protocol, scopes: list[str]) -> tuple[str, ...]:
    params = {
        "response_type": "code",
        "scope": " ".join(scopes),
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }
    return check_parameters(params, bound(protocol).allowed_scopes(), lambda _: None).scopes


def test_offline_access_is_refused_as_invalid_scope_citing_art_5() -> None:
    with pytest.raises(AuthorizationError) as refused:
        _checked(seed(), ["openid", "ov_leerling", OFFLINE_ACCESS])
    assert refused.value.error == "invalid_scope"
    assert "art. 5" in refused.value.description
    assert OFFLINE_ACCESS in _checked(with_offline(True), ["openid", OFFLINE_ACCESS])


scope_lists = st.lists(
    st.sampled_from(["openid", "profile", "ov_leerling", "rrn", OFFLINE_ACCESS, "email"]),
    max_size=7,
)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), scopes=scope_lists, allowed=st.booleans())
def test_no_scope_set_yields_offline_access_under_a_no_offline_protocol(
    data: st.DataObject, scopes: list[str], allowed: bool
) -> None:
    protocol = with_offline(allowed, data.draw(protocols()).model_dump(mode="json"))
    assert (OFFLINE_ACCESS in requestable_scopes(protocol)) == allowed
    try:
        granted = _checked(protocol, scopes)
    except AuthorizationError as refused:
        assert refused.error == "invalid_scope"
        return
    assert set(granted) <= requestable_scopes(protocol)
    if not allowed:
        assert OFFLINE_ACCESS not in granted
