"""The provider's pure OAuth rules, without a server or a database (oauth/ does no I/O)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leerid.idp.oauth.authorization_request import (
    DUPLICATED,
    AuthorizationRequest,
    check_parameters,
    needs_login,
)
from leerid.idp.oauth.code_exchange import (
    CODE_REUSED,
    CodeFacts,
    code_problem,
    narrowed_scope,
)
from leerid.idp.oauth.errors import AuthorizationError, OAuthError
from leerid.idp.oauth.rfc7636 import s256

VERIFIER = "v" * 43
ALLOWED = frozenset({"openid", "profile", "offline_access"})
NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)


def good_params(**changes: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "scope": "openid profile",
        "code_challenge": s256(VERIFIER),
        "code_challenge_method": "S256",
    }
    params.update(changes)
    return params


def no_hint(_hint: str) -> str | None:
    return None


def error_of(params: dict[str, str]) -> tuple[str, str]:
    with pytest.raises(AuthorizationError) as caught:
        check_parameters(params, ALLOWED, no_hint)
    return caught.value.error, caught.value.description


def test_a_good_request_passes_with_its_scopes_once_each_in_order() -> None:
    checked = check_parameters(good_params(scope="openid profile openid"), ALLOWED, no_hint)
    assert checked.scope == "openid profile"
    assert checked.code_challenge == s256(VERIFIER)
    assert checked.max_age is None and checked.hint_sub is None


def test_the_checks_come_in_their_order() -> None:
    # A duplicated parameter is named before anything else is looked at (RFC 6749 §3.1).
    assert error_of(good_params(**{DUPLICATED: "scope", "response_type": "token"})) == (
        "invalid_request",
        "parameter scope appears more than once",
    )
    # response_type before scope, scope before PKCE, PKCE before prompt.
    assert error_of(good_params(response_type="token", scope="email"))[0] == (
        "unsupported_response_type"
    )
    assert error_of(good_params(scope="email", code_challenge=""))[0] == "invalid_scope"
    assert error_of(good_params(code_challenge_method="plain", prompt="bogus"))[1] == (
        "code_challenge_method must be S256 (profile strict)"
    )
    assert error_of(good_params(prompt="none login"))[1] == "prompt=none cannot be combined"
    assert error_of(good_params(max_age="-1"))[1] == "max_age must be a whole number >= 0"
    assert error_of(good_params(id_token_hint="x"))[1] == "id_token_hint is not an ID token of ours"


def test_a_scope_the_protocol_does_not_allow_is_refused_by_name() -> None:
    assert error_of(good_params(scope="openid email phone")) == (
        "invalid_scope",
        "scope email phone is not allowed by the client's protocol",
    )


def test_a_login_is_needed_as_oidc_core_says() -> None:
    checked = check_parameters(good_params(max_age="60"), ALLOWED, no_hint)
    assert needs_login(checked, None, 1000.0)
    assert not needs_login(checked, ("a", 950), 1000.0)
    assert needs_login(checked, ("a", 900), 1000.0)
    hinted = check_parameters(good_params(id_token_hint="t"), ALLOWED, lambda _h: "b")
    assert needs_login(hinted, ("a", 999), 1000.0)
    assert not needs_login(hinted, ("b", 999), 1000.0)


@given(
    state=st.none() | st.text(max_size=20),
    nonce=st.none() | st.text(max_size=20),
    lang=st.sampled_from(["nl", "en"]),
)
def test_the_sealed_request_comes_back_the_same(
    state: str | None, nonce: str | None, lang: str
) -> None:
    request = AuthorizationRequest("c", "https://rp/cb", "openid", state, nonce, "x", lang, "t")
    assert AuthorizationRequest.from_sealed(request.sealable()) == request
    assert "code_challenge_method" in request.login_query()


def test_a_malformed_sealed_request_is_refused() -> None:
    good = AuthorizationRequest("c", "u", "openid", None, None, "x", "nl", "t").sealable()
    assert AuthorizationRequest.from_sealed(None) is None
    assert AuthorizationRequest.from_sealed({**good, "client_id": 3}) is None
    assert AuthorizationRequest.from_sealed({**good, "state": ["x"]}) is None


def facts(**changes: object) -> CodeFacts:
    values: dict[str, object] = {
        "client_id": "c",
        "redirect_uri": "https://rp/cb",
        "code_challenge": s256(VERIFIER),
        "expires_at": NOW + dt.timedelta(seconds=30),
        "used": False,
    }
    values.update(changes)
    return CodeFacts(**values)  # type: ignore[arg-type]


def problem(code: CodeFacts | None, **changes: str) -> str | None:
    asked = {"client_id": "c", "redirect_uri": "https://rp/cb", "code_verifier": VERIFIER}
    asked.update(changes)
    found = code_problem(code, now=NOW, **asked)
    return None if found is None else found.description


def test_a_code_is_checked_in_the_order_of_rfc_6749_and_7636() -> None:
    assert problem(facts()) is None
    assert problem(None) == "the code is unknown"
    assert problem(facts(used=True), client_id="other") == "the code was issued to another client"
    assert problem(facts(used=True, expires_at=NOW)) == CODE_REUSED
    assert problem(facts(expires_at=NOW), redirect_uri="x") == (
        "the code has expired (codes live 30 seconds)"
    )
    assert problem(facts(), redirect_uri="x", code_verifier="w" * 43) == (
        "redirect_uri differs from the authorization request"
    )
    assert problem(facts(), code_verifier="w" * 43) == (
        "code_verifier does not match the code_challenge"
    )


def test_a_refresh_may_only_narrow_the_scope() -> None:
    assert narrowed_scope("openid profile", None) == "openid profile"
    assert narrowed_scope("openid profile", "openid") == "openid"
    with pytest.raises(OAuthError, match="only narrow"):
        narrowed_scope("openid", "openid profile")
