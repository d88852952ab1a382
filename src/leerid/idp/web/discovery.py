"""OpenID Connect Discovery 1.0 §3 and the key set (RFC 7517) at ``/op/v1/keys``.

What is advertised is what is implemented: code flow, the three client authentication
methods, RS256/ES256/PS256. ``response_modes_supported`` and
``code_challenge_methods_supported`` list what at least one client profile allows (OIDC
Discovery §3: supported by the provider); which client gets a relaxation (``fragment``,
``form_post``, ``plain``) is per client, as ACM/IDM's own discovery says of scopes
(issue 14 §1). ``acr_values_supported``: the one means of a LeerID login (ACM's URN).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from leerid.idp.context import IdpContext, get_context
from leerid.idp.oauth.client_credentials import EVENTS_SCOPE
from leerid.idp.oauth.profiles import API_SCOPES, PROFILES
from leerid.idp.oauth.rfc7523 import ASSERTION_ALGORITHMS
from leerid.idp.oauth.rfc7636 import CHALLENGE_METHODS
from leerid.idp.oauth.rfc8417 import event_type
from leerid.idp.store.keys import SIGNING_ALGORITHMS
from leerid.idp.web.log import log_metadata

__all__ = ["discovery_document", "router", "ssf_configuration"]

router = APIRouter()

EVENT_TYPES = [
    event_type(kind)
    for kind in (
        "protocol-version-in-force",
        "protocol-ended",
        "account-identified",
        "pupils-merged",
        "account-deleted",
        "account-purged",
        "quality-report",
        "quality-report-status",
        "processor-list-requested",
        "notice-acknowledged",
    )
]
"""The event types of DOV's SETs (``leerid.registry.changes.ChangeKind``)."""

CLAIMS = [
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "acr",
    "at_hash",
    "sid",
    "given_name",
    "family_name",
    "ov_account_uuid",
    "ov_leerid_uuid",
    "ov_historiek_account_uuid",
    "ov_orgcode",
    "rrn",
]


def discovery_document(ctx: IdpContext) -> dict[str, Any]:
    """The provider's metadata."""
    s = ctx.settings
    auth_methods = ["client_secret_basic", "client_secret_post", "private_key_jwt"]
    return {
        "issuer": s.issuer,
        "authorization_endpoint": s.endpoint("v1/auth"),
        "token_endpoint": s.endpoint("v1/token"),
        "userinfo_endpoint": s.endpoint("v1/userinfo"),
        "jwks_uri": s.endpoint("v1/keys"),
        "end_session_endpoint": s.endpoint("v1/logout"),
        "introspection_endpoint": s.endpoint("v1/introspect"),
        "revocation_endpoint": s.endpoint("v1/revoke"),
        "scopes_supported": [
            "openid",
            "profile",
            "ov_leerling",
            "rrn",
            "offline_access",
            *API_SCOPES,  # issue 14 §4: one client_credentials scope per DOV API
        ],
        "response_types_supported": ["code"],
        "response_modes_supported": _supported(p.response_modes for p in PROFILES.values()),
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(SIGNING_ALGORITHMS),
        "token_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGORITHMS,
        "introspection_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "code_challenge_methods_supported": _supported(
            [m for m in CHALLENGE_METHODS if m in p.pkce_methods] for p in PROFILES.values()
        ),
        "acr_values_supported": [s.acr],
        "claims_supported": CLAIMS,
        "prompt_values_supported": ["none", "login"],
        "ui_locales_supported": ["nl", "en"],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "authorization_response_iss_parameter_supported": True,
        "leerid_events_endpoint": s.endpoint("v1/events"),
        **log_metadata(ctx),
    }


def _supported(per_profile: Iterable[Sequence[str]]) -> list[str]:
    """OIDC Discovery §3: what at least one profile allows, each once, in order."""
    return list(dict.fromkeys(value for values in per_profile for value in values))


def ssf_configuration(ctx: IdpContext) -> dict[str, Any]:
    """OpenID Shared Signals Framework 1.0 §7.1: the transmitter's metadata. Streams are not
    configured over HTTP: each client has one, fixed by its protocol (RFC 8936 poll only)."""
    s = ctx.settings
    return {
        "spec_version": "1_0",
        "issuer": s.issuer,
        "jwks_uri": s.endpoint("v1/keys"),
        "delivery_methods_supported": ["urn:ietf:rfc:8936"],
        "authorization_schemes": [{"spec_urn": "urn:ietf:rfc:6749"}],
        "leerid_events_endpoint": s.endpoint("v1/events"),
        "leerid_token_endpoint": s.endpoint("v1/token"),
        "leerid_scope": EVENTS_SCOPE,
        "leerid_event_types": EVENT_TYPES,
    }


@router.get("/.well-known/openid-configuration")
async def openid_configuration(request: Request) -> Response:
    """OpenID Connect Discovery 1.0 §4."""
    return JSONResponse(
        discovery_document(get_context(request)), headers={"Cache-Control": "max-age=300"}
    )


@router.get("/.well-known/ssf-configuration")
async def ssf(request: Request) -> Response:
    """OpenID SSF 1.0 §7.2: the transmitter configuration."""
    return JSONResponse(
        ssf_configuration(get_context(request)), headers={"Cache-Control": "max-age=300"}
    )


JWKS_SHARED_MAX_AGE = 60
"""Seconds a shared cache may keep ``/op/v1/keys`` (an emergency rotation behind a CDN)."""


@router.get("/v1/keys")
async def keys(request: Request) -> Response:
    """The public signing keys: the next ones before they sign, old ones until every token
    they signed has expired; cached by clients as ACM/IDM's (issue 14 §4: max-age 21500).

    RFC 9111 §5.2.2.10: ``s-maxage=60`` bounds shared caches (a CDN or proxy in front of
    us): after ``leerid keys rotate --now`` a client that refetches on the unknown kid must
    get the new key set from the CDN within a minute, not after 21500 s."""
    ctx = get_context(request)
    cache = (
        f"public, max-age={ctx.settings.jwks_max_age}, "
        f"s-maxage={JWKS_SHARED_MAX_AGE}, must-revalidate"
    )
    return JSONResponse(ctx.keys.jwks(), headers={"Cache-Control": cache})
