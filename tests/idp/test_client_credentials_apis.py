"""Issue 14 §4: client_credentials with one scope per DOV API (events, quality reports,
notices), on a real provider per backend.

Each scope against each API: allowed with its own token, 403 ``insufficient_scope`` with
another API's token, ``invalid_scope`` (naming the allowed ones) when the client may not
have it; no scope asked gives every API the client may call and says so. The token's
``aud`` names the API endpoints its scopes cover (RFC 9068 §3). Client authentication as at
the token endpoint keeps working at the quality-report and notices APIs (the kit uses it),
whatever API scopes the client has: reporting (art. 7) and notices (art. 6, 9) are duties.
"""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from joserfc import jwt
from joserfc.jwk import KeySet

from leerid.idp.oauth.client_credentials import granted_scope
from leerid.idp.oauth.errors import OAuthError
from leerid.idp.oauth.profiles import (
    API_SCOPES,
    EVENTS_SCOPE,
    NOTICES_SCOPE,
    QUALITY_REPORTS_SCOPE,
)
from leerid.idp.store.clients import add_client
from leerid.store.engine import make_engine
from tests.idp.events_kit import token_response
from tests.idp_server import REDIRECT_URI, RunningIdp

PATHS = {
    EVENTS_SCOPE: "v1/events",
    QUALITY_REPORTS_SCOPE: "v1/quality-reports",
    NOTICES_SCOPE: "v1/notices",
}


def call(idp: RunningIdp, scope: str, token: str | None = None, **auth: object) -> httpx.Response:
    """One harmless call of the API of ``scope`` (reads only), with a Bearer token or ``auth``."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if scope == EVENTS_SCOPE:
        url, body = f"{idp.issuer}/v1/events", {"json": {"returnImmediately": True}}
    elif scope == QUALITY_REPORTS_SCOPE:
        url, body = f"{idp.issuer}/v1/quality-reports/status", {"data": {"ids": ""}}
    else:
        url, body = f"{idp.issuer}/v1/notices/processors", {"data": {}}
    return httpx.post(url, headers=headers, timeout=20, **body, **auth)  # type: ignore[arg-type]


def passed_authentication(answer: httpx.Response) -> bool:
    """The API answered its own question (the processors list may not be published: 404)."""
    return answer.status_code == 200 or answer.json().get("error") == "not_found"


def token_for(idp: RunningIdp, scope: str | None, who: tuple[str, str] | None = None) -> str:
    client_id, secret = who or (idp.client_id, idp.client_secret)
    answer = token_response(idp, client_id, secret, scope=scope)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


# -- the pure rule -----------------------------------------------------------------------------


@given(
    allowed=st.sets(st.sampled_from(API_SCOPES), min_size=1),
    asked=st.lists(st.sampled_from([*API_SCOPES, "openid", "leerid:other"]), max_size=4),
)
def test_a_client_gets_exactly_the_allowed_scopes_it_asks(
    allowed: set[str], asked: list[str]
) -> None:
    """RFC 6749 §3.3: a scope is granted when every value is allowed, in a fixed order."""
    order = tuple(s for s in API_SCOPES if s in allowed)
    if not asked:  # no scope: the default, every API the client may call
        assert granted_scope("client_secret_basic", None, order) == " ".join(order)
        return
    if set(asked) <= allowed:
        granted = granted_scope("client_secret_basic", " ".join(asked), order)
        assert granted.split() == [s for s in API_SCOPES if s in asked]
        return
    with pytest.raises(OAuthError) as refused:
        granted_scope("client_secret_basic", " ".join(asked), order)
    assert refused.value.error == "invalid_scope"
    assert " ".join(order) in refused.value.description  # names what the client may ask


def test_a_client_allowed_no_api_is_told_so() -> None:
    with pytest.raises(OAuthError, match="none of DOV's APIs") as refused:
        granted_scope("private_key_jwt", None, ())
    assert refused.value.error == "invalid_scope"


# -- the token and the APIs --------------------------------------------------------------------


def test_no_scope_gives_every_api_and_the_token_names_them(idp: RunningIdp) -> None:
    answer = token_response(idp, idp.client_id, idp.client_secret, scope=None)
    assert answer.status_code == 200, answer.text
    assert answer.json()["scope"].split() == list(API_SCOPES)  # §3.3: said in the answer
    published = httpx.get(f"{idp.issuer}/v1/keys")
    assert (
        published.headers["cache-control"] == "public, max-age=21500, s-maxage=60, must-revalidate"
    )
    keys = KeySet.import_key_set(published.json())
    claims = jwt.decode(answer.json()["access_token"], keys, algorithms=["RS256"]).claims
    assert claims["aud"] == [f"{idp.issuer}/{PATHS[s]}" for s in API_SCOPES]
    for scope in API_SCOPES:  # one token for all three APIs
        assert passed_authentication(call(idp, scope, answer.json()["access_token"]))
    one = token_response(idp, idp.client_id, idp.client_secret, scope=NOTICES_SCOPE)
    claims = jwt.decode(one.json()["access_token"], keys, algorithms=["RS256"]).claims
    assert claims["aud"] == f"{idp.issuer}/v1/notices" and claims["scope"] == NOTICES_SCOPE


@pytest.mark.parametrize("scope", API_SCOPES)
def test_each_api_takes_its_own_token_and_refuses_the_others(idp: RunningIdp, scope: str) -> None:
    own = call(idp, scope, token_for(idp, scope))
    assert passed_authentication(own), own.text
    for other in API_SCOPES:
        if other == scope:
            continue
        refused = call(idp, scope, token_for(idp, other))
        # RFC 6750 §3.1: not for this API (aud) is invalid_token; its scope missing is 403
        assert refused.status_code in (401, 403), refused.text
        assert refused.json()["error"] in ("invalid_token", "insufficient_scope")
        assert refused.headers["www-authenticate"].startswith("Bearer ")
    garbage = call(idp, scope, "not-a-token")
    assert (garbage.status_code, garbage.json()["error"]) == (401, "invalid_token")


def test_a_token_for_several_apis_lacking_this_one_is_insufficient(idp: RunningIdp) -> None:
    token = token_for(idp, f"{EVENTS_SCOPE} {NOTICES_SCOPE}")
    refused = call(idp, QUALITY_REPORTS_SCOPE, token)
    assert refused.status_code == 401  # its aud names events and notices only
    assert passed_authentication(call(idp, NOTICES_SCOPE, token))


def test_a_client_not_allowed_an_api_gets_invalid_scope_and_no_access(idp: RunningIdp) -> None:
    engine = make_engine(idp.database_url)
    client, secret = add_client(
        engine,
        name="events only",
        protocol_id=idp.seed.protocol_id,
        redirect_uris=[REDIRECT_URI],
        api_scopes=[EVENTS_SCOPE],
    )
    engine.dispose()
    assert secret is not None
    who = (client.client_id, secret)
    for scope in (QUALITY_REPORTS_SCOPE, NOTICES_SCOPE):
        refused = token_response(idp, *who, scope=scope)
        assert (refused.status_code, refused.json()["error"]) == (400, "invalid_scope")
        assert EVENTS_SCOPE in refused.json()["error_description"]  # what it may ask
        # by client authentication (RFC 6749 §2.3) it may: art. 7 reports and art. 6, 9
        # notices are the recipient's duties, not grants of an API scope
        assert passed_authentication(call(idp, scope, auth=who))
    answer = token_response(idp, *who, scope=None)
    assert answer.json()["scope"] == EVENTS_SCOPE
    assert passed_authentication(call(idp, EVENTS_SCOPE, answer.json()["access_token"]))


def test_client_authentication_still_works_and_a_report_by_token_is_the_client_s(
    idp: RunningIdp,
) -> None:
    who = (idp.client_id, idp.client_secret)
    for scope in (QUALITY_REPORTS_SCOPE, NOTICES_SCOPE):
        assert passed_authentication(call(idp, scope, auth=who))
    wrong = call(idp, NOTICES_SCOPE, auth=(idp.client_id, "wrong"))
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")
    token = token_for(idp, QUALITY_REPORTS_SCOPE)
    report = {
        "pupil_key": idp.pupil.account_uuid,
        "attribute": "given_name",
        "problem": "foutief",
        "comment": "",
    }
    made = httpx.post(
        f"{idp.issuer}/v1/quality-reports",
        data=report,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert made.status_code == 201, made.text
    status = httpx.post(
        f"{idp.issuer}/v1/quality-reports/status", data={"ids": made.json()["id"]}, auth=who
    )
    assert [r["id"] for r in status.json()["reports"]] == [made.json()["id"]]
