"""Fuzz every endpoint of the identity provider, on SQLite and PostgreSQL (issue 8, guard).

Each endpoint's parameters are left out, valid or hostile; the request comes as a query,
an urlencoded or a multipart form, with raw bytes that are not UTF-8, a hostile ``Host`` or
``Authorization``, with or without the logged-in browser's cookies, with or without a
trailing slash. ``check`` (tests/fuzz/requests.py) says what every answer must satisfy.
``LEERID_FUZZ_EXAMPLES`` sets the examples per endpoint and backend (default 10).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leerid.idp.oauth.rfc7523 import ASSERTION_TYPE
from tests.fuzz.requests import (
    FUZZ,
    Valid,
    at,
    authorization,
    basic,
    exercise,
    header_value,
    hostile,
    local_location,
    parameters,
    unsigned_jwt,
)
from tests.fuzz.servers import ProviderTarget
from tests.idp_server import LOGOUT_URI

VERIFIER = "v" * 43
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=")
FRESH_CODE = "fresh-code"
"""Replaced by a new code of the client (and its verifier) before sending."""


@dataclass(frozen=True)
class Endpoint:
    methods: tuple[str, ...]
    path: str
    """Under the issuer (``/op``) unless it starts with ``//`` (then at the root)."""
    params: Callable[[ProviderTarget], Mapping[str, Valid]] = lambda _: {}
    auth: Callable[[ProviderTarget], dict[str, bytes]] = lambda _: {}
    form_only: bool = field(default=False)


def _client(t: ProviderTarget) -> dict[str, bytes]:
    return {"basic": basic(t.idp.client_id, t.idp.client_secret)}


def _bearer(t: ProviderTarget) -> dict[str, bytes]:
    return {"bearer": f"Bearer {t.access_token}".encode()}


def _authorization_request(t: ProviderTarget) -> Mapping[str, Valid]:
    return {
        "client_id": t.idp.client_id,
        "redirect_uri": t.idp.redirect_uri,
        "response_type": "code",
        "scope": "openid profile ov_leerling",
        "state": st.sampled_from(["s", "x" * 2048, "x" * 2049]),
        "nonce": "n",
        "code_challenge": CHALLENGE.decode(),
        "code_challenge_method": "S256",
        "prompt": st.sampled_from(["none", "login"]),
        "max_age": "0",
        "ui_locales": "en",
        "id_token_hint": t.id_token,
        "login_hint": None,
    }


def _token_request(t: ProviderTarget) -> Mapping[str, Valid]:
    assertion = st.tuples(hostile(), hostile()).map(
        lambda p: unsigned_jwt({"sub": p[0], "iss": p[1], "aud": t.idp.issuer})
    )
    return {
        "grant_type": st.sampled_from(
            ["authorization_code", "refresh_token", "client_credentials"]
        ),
        "code": FRESH_CODE,
        "redirect_uri": t.idp.redirect_uri,
        "code_verifier": VERIFIER,
        "refresh_token": None,
        "scope": "openid",
        "client_id": t.idp.client_id,
        "client_secret": t.idp.client_secret,
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": assertion,
    }


ENDPOINTS = {
    "discovery": Endpoint(("GET",), "/.well-known/openid-configuration"),
    "keys": Endpoint(("GET",), "/v1/keys"),
    "ssf-configuration": Endpoint(("GET",), "/.well-known/ssf-configuration"),
    "events": Endpoint(  # RFC 8936: a JSON body; forms and queries are refused with 400
        ("POST",), "/v1/events", lambda t: {"maxEvents": "1", "ack": "x"}, _bearer
    ),
    "auth": Endpoint(("GET", "POST"), "/v1/auth", _authorization_request),
    "login": Endpoint(
        ("POST",),
        "/v1/login",
        lambda t: {
            "request": t.pending,
            "csrf_token": t.cookies["leerid_csrf"],
            "username": t.idp.username,
            "password": t.idp.password,
        },
    ),
    "token": Endpoint(("POST",), "/v1/token", _token_request, _client),
    "userinfo": Endpoint(
        ("GET", "POST"), "/v1/userinfo", lambda t: {"access_token": t.access_token}, _bearer
    ),
    "logout": Endpoint(
        ("GET", "POST"),
        "/v1/logout",
        lambda t: {
            "client_id": t.idp.client_id,
            "post_logout_redirect_uri": LOGOUT_URI,
            "id_token_hint": t.id_token,
            "state": "s",
            "ui_locales": "en",
            "csrf_token": t.cookies["leerid_csrf"],
            "confirm": "1",
        },
    ),
    "introspect": Endpoint(
        ("POST",),
        "/v1/introspect",
        lambda t: {"token": t.access_token, "token_type_hint": "access_token"},
        _client,
    ),
    "activate": Endpoint(
        ("GET", "POST"),
        "/v1/activate",
        lambda t: {
            "username": t.idp.username,
            "code": "K7QH-3MZP-X9TA-2WRC",
            "password": "een lang nieuw wachtwoord",
            "password_confirm": "een lang nieuw wachtwoord",
            "form_state": t.form_state,
            "csrf_token": t.cookies["leerid_csrf"],
            "ui_locales": "en",
        },
    ),
    "quality-reports": Endpoint(
        ("POST",),
        "/v1/quality-reports",
        lambda t: {
            "pupil_key": t.idp.pupil.account_uuid,
            "attribute": "family_name",
            "problem": "verouderd",
            "comment": "regel een\nregel twee",
        },
        _client,
    ),
    "quality-reports-status": Endpoint(
        ("POST",), "/v1/quality-reports/status", lambda t: {"ids": "a b"}, _client
    ),
    "quality-reports-answers": Endpoint(
        ("POST",),
        "/v1/quality-reports/answers",
        lambda t: {"code": "DQ-7K3M2P", "status": "opgelost", "text": "regel\ntwee"},
        _client,
    ),
    "notices": Endpoint(
        ("POST",),
        "/v1/notices",
        lambda t: {
            "kind": "verwerkers",
            "text": "Nieuwe hoster\nvanaf maart",
            "processors": '[{"name": "Hoster NV", "purpose": "hosting", "location": "BE", '
            '"since": "2024-03-01"}]',
        },
        _client,
    ),
    "notices-doorgifte": Endpoint(
        ("POST",),
        "/v1/notices",
        lambda t: {
            "kind": "doorgifte",
            "text": "Voorafgaande melding\nart. 4",
            "onward_recipient": '{"name": "Stad Gent", "kbo": "0207.451.227", '
            '"purpose": "vervoer", "legal_basis": "decreet"}',
        },
        _client,
    ),
    "notices-processors": Endpoint(("POST",), "/v1/notices/processors", auth=_client),
    "service-providers-lookup": Endpoint(
        ("POST",), "/v1/service-providers/lookup", lambda t: {"kbo": "BE0473721472"}, _client
    ),
    "mijn-gegevens": Endpoint(("GET",), "/v1/mijn-gegevens", lambda t: {"melding": "DQ-7K3M"}),
    "mijn-gegevens-aanmelden": Endpoint(
        ("POST",),
        "/v1/mijn-gegevens/aanmelden",
        lambda t: {
            "request": t.pending,
            "csrf_token": t.cookies["leerid_csrf"],
            "username": t.idp.username,
            "password": t.idp.password,
        },
    ),
    "mijn-gegevens-melding": Endpoint(
        ("POST",),
        "/v1/mijn-gegevens/melding",
        lambda t: {
            "form_state": t.form_state,
            "csrf_token": t.cookies["leerid_csrf"],
            "attribute": "family_name",
            "problem": "foutief",
            "text": "Mijn naam\nis anders",
        },
    ),
    "disclosures-mine": Endpoint(("GET",), "/v1/disclosures/mine", auth=_bearer),
    "healthz": Endpoint(("GET",), "//healthz"),
    "metrics": Endpoint(("GET",), "//metrics"),
    "zz-revoke": Endpoint(  # last: it may revoke the access token the others use
        ("POST",), "/v1/revoke", lambda t: {"token": t.access_token}, _client
    ),
}


def _allowed(t: ProviderTarget) -> Callable[[str], bool]:
    registered = (t.idp.redirect_uri, LOGOUT_URI)
    return lambda location: (
        local_location(location, t.idp.base_url) or any(at(location, uri) for uri in registered)
    )


def _with_fresh_code(t: ProviderTarget, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    if (("code", FRESH_CODE)) not in pairs:
        return pairs
    code, verifier = t.fresh_code()
    swapped = {FRESH_CODE: code, VERIFIER: verifier}
    return [(n, swapped.get(v, v) if n in ("code", "code_verifier") else v) for n, v in pairs]


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
@FUZZ
@given(data=st.data())
def test_every_provider_endpoint_survives_hostile_input(
    fuzz_provider: ProviderTarget, name: str, data: st.DataObject
) -> None:
    t = fuzz_provider
    endpoint = ENDPOINTS[name]
    method = data.draw(st.sampled_from(endpoint.methods), "method")
    pairs = _with_fresh_code(t, data.draw(parameters(endpoint.params(t)), "parameters"))
    path = endpoint.path[1:] if endpoint.path.startswith("//") else "/op" + endpoint.path
    cookies = data.draw(
        st.one_of(
            st.just({}),
            st.just(t.cookies),
            header_value().map(lambda v: {"leerid_csrf": v.decode("latin-1").replace(";", "")}),
        ),
        "cookies",
    )
    header = data.draw(authorization(endpoint.auth(t)), "Authorization")
    exercise(
        data,
        t.idp.base_url,
        method,
        path,
        pairs,
        t.log,
        _allowed(t),
        cookies=cookies,
        authorization=header,
    )
