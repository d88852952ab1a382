"""Helpers of the events tests: a client's token, a poll, and SETs verified with joserfc."""

from __future__ import annotations

from typing import Any

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.idp_server import RunningIdp

EVENTS_SCOPE = "leerid:events"


def token_response(
    idp: RunningIdp,
    client_id: str,
    secret: str,
    *,
    scope: str | None = EVENTS_SCOPE,
    **form: str,
) -> httpx.Response:
    """POST the client credentials grant with client_secret_basic."""
    data = {"grant_type": "client_credentials", **form}
    if scope is not None:
        data["scope"] = scope
    return httpx.post(f"{idp.issuer}/v1/token", data=data, auth=(client_id, secret), timeout=10)


def events_token(idp: RunningIdp, client_id: str | None = None, secret: str | None = None) -> str:
    """An access token for the events endpoint."""
    answer = token_response(idp, client_id or idp.client_id, secret or idp.client_secret)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def poll_response(idp: RunningIdp, token: str, body: Any, **headers: str) -> httpx.Response:
    """POST a poll body (JSON unless ``body`` is bytes)."""
    heads = {"Authorization": f"Bearer {token}", **headers}
    if isinstance(body, bytes):
        heads.setdefault("Content-Type", "application/json")
        return httpx.post(f"{idp.issuer}/v1/events", content=body, headers=heads, timeout=40)
    return httpx.post(f"{idp.issuer}/v1/events", json=body, headers=heads, timeout=40)


def poll(idp: RunningIdp, token: str, **body: Any) -> dict[str, Any]:
    """A short poll (``returnImmediately`` true unless given): the answer's JSON."""
    body.setdefault("returnImmediately", True)
    answer = poll_response(idp, token, body)
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()
    return data


def verified(idp: RunningIdp, compact: str, client_id: str | None = None) -> dict[str, Any]:
    """The claims of a SET, verified as a recipient does (JWKS, RS256, typ, iss, aud)."""
    keys = KeySet.import_key_set(httpx.get(f"{idp.issuer}/v1/keys", timeout=10).json())
    token = jwt.decode(compact, keys, algorithms=["RS256"])
    assert token.header["typ"] == "secevent+jwt"
    claims = dict(token.claims)
    assert claims["iss"] == idp.issuer
    assert claims["aud"] == (client_id or idp.client_id)
    assert len(claims["jti"]) == 32
    assert len(claims["events"]) == 1
    return claims


def drain(idp: RunningIdp, token: str, client_id: str | None = None) -> list[dict[str, Any]]:
    """Every pending SET of the client, verified and acknowledged, oldest first."""
    found: list[dict[str, Any]] = []
    ack: list[str] = []
    while True:
        answer = poll(idp, token, ack=ack, maxEvents=100)
        found += [verified(idp, s, client_id) for s in answer["sets"].values()]
        ack = list(answer["sets"])
        if not ack and not answer["moreAvailable"]:
            return found


def event_of(claims: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The one (event type, body) of a SET."""
    ((kind, body),) = claims["events"].items()
    return str(kind), dict(body)
