"""Issue 14 §1: the pure rules of the two client profiles (no server, no database)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leerid.idp.oauth.authorization_request import AuthorizationRequest, check_parameters
from leerid.idp.oauth.code_exchange import CodeFacts, code_problem
from leerid.idp.oauth.errors import AuthorizationError
from leerid.idp.oauth.profiles import ACM, PROFILES, STRICT, ClientProfile
from leerid.idp.oauth.response_modes import (
    FORM_POST_CSP,
    FORM_POST_SCRIPT,
    error_mode,
    form_post_page,
    redirect_location,
)
from leerid.idp.oauth.rfc7636 import s256

VERIFIER = "v" * 43
ALLOWED = frozenset({"openid", "profile"})
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
MODES = st.sampled_from(["query", "fragment", "form_post", "form_post.jwt", "web_message", ""])
PROFILE = st.sampled_from(list(PROFILES.values()))


def params(**changes: str | None) -> dict[str, str]:
    base: dict[str, str | None] = {
        "response_type": "code",
        "scope": "openid",
        "code_challenge": s256(VERIFIER),
        "code_challenge_method": "S256",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def check(
    given_params: dict[str, str], rules: ClientProfile, confidential: bool = True
) -> str | None:
    """The error description, or None when the request passes."""
    try:
        check_parameters(given_params, ALLOWED, lambda _: None, rules, confidential=confidential)
    except AuthorizationError as exc:
        return exc.description
    return None


@given(mode=MODES, rules=PROFILE)
def test_a_mode_passes_exactly_when_the_profile_allows_it(mode: str, rules: ClientProfile) -> None:
    """Multiple Response Types §2.1: strict allows query only, acm also fragment, form_post;
    an error goes back in the mode asked only when that mode is allowed."""
    problem = check(params(response_mode=mode), rules)
    assert (problem is None) == (mode in rules.response_modes)
    assert error_mode({"response_mode": mode}, rules, False) == (
        mode if mode in rules.response_modes else "query"
    )
    assert error_mode({"response_mode": mode}, rules, True) == "query"  # sent twice


@given(
    rules=PROFILE,
    confidential=st.booleans(),
    method=st.sampled_from(["S256", "plain", "s256", None]),
    with_challenge=st.booleans(),
    nonce=st.sampled_from([None, "", "n-1"]),
)
def test_pkce_rules_per_profile(
    rules: ClientProfile,
    confidential: bool,
    method: str | None,
    with_challenge: bool,
    nonce: str | None,
) -> None:
    """RFC 7636 §4.3 (absent method is plain), RFC 9700 §2.1.1 (public clients always S256)
    and issue 14 §1 (acm: optional for confidential clients, plain allowed); left out only
    with a nonce (RFC 9700 §2.1.1, §4.5.3.2: the nonce then protects against code injection)."""
    challenge = (s256(VERIFIER) if method == "S256" else VERIFIER) if with_challenge else None
    problem = check(
        params(code_challenge=challenge, code_challenge_method=method, nonce=nonce),
        rules,
        confidential,
    )
    lenient = confidential and rules is ACM
    if not with_challenge:
        assert (problem is None) == (lenient and method is None and bool(nonce))
        if lenient and method is None and not nonce:
            assert problem is not None and problem.startswith("nonce is required")
    else:
        assert (problem is None) == (
            (method or "plain") in (rules.pkce_methods if lenient else ("S256",))
        )


def test_a_plain_challenge_is_kept_as_its_s256_form() -> None:
    """RFC 7636 §4.2: verifier == plain challenge, so S256 of both must agree."""
    checked = check_parameters(
        params(code_challenge=VERIFIER, code_challenge_method="plain"),
        ALLOWED,
        lambda _: None,
        ACM,
    )
    assert checked.code_challenge == s256(VERIFIER)
    too_short = params(code_challenge="short", code_challenge_method="plain")
    assert "43 to 128" in (check(too_short, ACM) or "")


@given(challenge=st.booleans(), verifier=st.sampled_from([None, VERIFIER, "w" * 43]))
def test_the_token_endpoint_refuses_a_downgrade(challenge: bool, verifier: str | None) -> None:
    """RFC 7636 §4.6 and RFC 9700 §4.8.2: a code with a challenge needs its verifier; a code
    without one refuses any verifier; a strict client never redeems a code without one."""
    facts = CodeFacts("c", "https://rp/cb", s256(VERIFIER) if challenge else None, NOW, False)
    later = NOW - dt.timedelta(seconds=1)

    def problem(optional: bool) -> object:
        return code_problem(
            facts,
            client_id="c",
            redirect_uri="https://rp/cb",
            code_verifier=verifier,
            now=later,
            pkce_optional=optional,
        )

    if challenge:
        assert (problem(True) is None) == (verifier == VERIFIER)
    else:
        assert (problem(True) is None) == (verifier is None)
        assert problem(False) is not None


@given(
    mode=st.sampled_from(["query", "fragment"]),
    state=st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20),
)
def test_query_and_fragment_carry_every_parameter(mode: str, state: str) -> None:
    """Multiple Response Types §2.1: the parameters in the query or in the fragment."""
    location = redirect_location("https://rp.example/cb?x=1", {"code": "c", "state": state}, mode)
    base, _, fragment = location.partition("#")
    if mode == "fragment":
        assert base == "https://rp.example/cb?x=1" and "code=c" in fragment
    else:
        assert not fragment and base.startswith("https://rp.example/cb?x=1&code=c")


def test_the_form_post_page_escapes_values_and_names_its_script_by_hash() -> None:
    """Form Post §2, §5: hidden inputs, escaped; the CSP names the script by its hash."""
    page = form_post_page("https://rp.example/cb", {"state": '"><script>x()</script>'}, "nl")
    assert "<script>x()" not in page and "&quot;&gt;&lt;script&gt;" in page
    assert re.findall(r"<script>(.*?)</script>", page) == [FORM_POST_SCRIPT]
    assert "'sha256-" in FORM_POST_CSP and "unsafe-inline" not in FORM_POST_CSP


def test_a_sealed_request_keeps_its_mode_and_old_seals_mean_query() -> None:
    """The mode is remembered across the login form (the sealed ``AuthorizationRequest``)."""
    request = AuthorizationRequest(
        "c", "https://rp/cb", "openid", None, None, None, "nl", "t", "form_post"
    )
    assert AuthorizationRequest.from_sealed(request.sealable()) == request
    assert request.login_query()["response_mode"] == "form_post"
    assert "code_challenge" not in request.login_query()
    old = {k: v for k, v in request.sealable().items() if k != "response_mode"}
    opened = AuthorizationRequest.from_sealed(old)
    assert opened is not None and opened.response_mode == "query"
    assert AuthorizationRequest.from_sealed({**request.sealable(), "response_mode": "x"}) is None
    # a client moved back to strict while the login form was open: the form is stale
    assert request.fits(ACM) and not request.fits(STRICT) and not request.fits(ACM, False)


@pytest.mark.parametrize("rules", [STRICT, ACM])
def test_relaxations_name_each_departure(rules: ClientProfile) -> None:
    """``clients show`` lists what differs from strict, and nothing for strict."""
    assert (rules.relaxations() == []) == (rules is STRICT)
