"""Client authentication at the token, introspection and revocation endpoints.

RFC 6749 §2.3.1 (``client_secret_basic``, ``client_secret_post``) and RFC 7523 §2.2
(``private_key_jwt``). A client authenticates with the one method it registered; more than
one method in a request is refused (RFC 6749 §2.3). Other routers use ``require_client``.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote_plus

from fastapi import Request
from starlette.responses import Response

from leerid.idp.context import IdpContext, get_context
from leerid.idp.oauth.errors import OAuthError
from leerid.idp.oauth.rfc7523 import (
    ASSERTION_TYPE,
    unverified_parts,
    verify_client_assertion,
)
from leerid.idp.store.clients import Client, secret_matches
from leerid.idp.web.client_keys import JwksFetcher
from leerid.idp.web.errors import token_error_response
from leerid.idp.web.parameters import checked

__all__ = [
    "TokenRequest",
    "authenticate_client",
    "read_form",
    "require_client",
    "token_request",
]

_FETCHER = JwksFetcher()


async def read_form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body; RFC 6749 §3.2: no parameter twice."""
    cached: dict[str, str] | None = getattr(request.state, "oauth_form", None)
    if cached is not None:
        return cached
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if not body and not content_type:  # nothing but the client's Basic credentials
        request.state.oauth_form = {}
        return {}
    if content_type != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request", "the body must be application/x-www-form-urlencoded")
    if len(body) > 65536:
        raise OAuthError("invalid_request", "the body is too large")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise OAuthError("invalid_request", "the body is not UTF-8") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise OAuthError("invalid_request", f"parameter {name} appears more than once")
        form[name] = value
    request.state.oauth_form = form
    return form


def _basic(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError("invalid_client", "the Basic authorization header is malformed") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise OAuthError("invalid_client", "the Basic authorization header is malformed")
    # RFC 6749 §2.3.1: id and secret are form-urlencoded before base64.
    return (
        checked("client_id", unquote_plus(client_id), "invalid_client"),
        checked("client_secret", unquote_plus(secret), "invalid_client"),
    )


def authenticate_client(ctx: IdpContext, request: Request, form: dict[str, str]) -> Client:
    """The authenticated client, or ``OAuthError(invalid_client)``."""
    basic = _basic(request.headers.get("authorization", ""))
    used = [
        name
        for name, present in (
            ("client_secret_basic", basic is not None),
            ("client_secret_post", "client_secret" in form),
            ("private_key_jwt", "client_assertion" in form),
        )
        if present
    ]
    if len(used) > 1:
        raise OAuthError("invalid_request", "use exactly one client authentication method")
    if not used:
        raise OAuthError("invalid_client", "client authentication is required")
    method = used[0]
    if basic is not None:
        client_id = basic[0]
        if "client_id" in form and form["client_id"] != client_id:
            raise OAuthError("invalid_request", "client_id differs from the authenticated one")
    elif method == "private_key_jwt":
        client_id = form.get("client_id", "")
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise OAuthError("invalid_client", f"client_assertion_type must be {ASSERTION_TYPE}")
        if not client_id:  # RFC 7523 §3: the client id is the assertion's sub
            sub = str(unverified_parts(form["client_assertion"])[1].get("sub", ""))
            client_id = checked("client_id", sub, "invalid_client")
    else:
        client_id = form.get("client_id", "")
    client = ctx.clients.get(client_id)
    if client is None:
        raise OAuthError("invalid_client", "unknown or disabled client")
    if client.auth_method != method:
        raise OAuthError("invalid_client", f"this client authenticates with {client.auth_method}")
    if method == "private_key_jwt":
        # RFC 7523 §3 (3): the audience identifies this server. Built from the configured
        # issuer, never from the request's Host header, which the sender chooses (an
        # assertion made for another server must not pass here).
        called = request.url.path.removeprefix(ctx.settings.path).lstrip("/")
        audiences = (
            ctx.settings.issuer,
            ctx.settings.endpoint("v1/token"),
            ctx.settings.endpoint(called),
        )
        verify_client_assertion(
            client,
            form["client_assertion"],
            audiences,
            _FETCHER,
            ctx.store.remember_jti,
            max_lifetime=client.rules.assertion_max_lifetime,  # issue 14 §1
            profile=client.rules.name,
        )
    else:
        secret = basic[1] if basic is not None else form.get("client_secret", "")
        if not secret_matches(client, secret):
            raise OAuthError("invalid_client", "client authentication failed")
    return client


async def require_client(request: Request) -> Client:
    """FastAPI dependency: the authenticated client of a form POST (all three methods)."""
    ctx = get_context(request)
    form = await read_form(request)
    return authenticate_client(ctx, request, form)


@dataclass(frozen=True)
class TokenRequest:
    """An authenticated client naming a token (introspection, revocation)."""

    ctx: IdpContext
    client: Client
    form: dict[str, str]
    token: str


async def token_request(request: Request) -> TokenRequest | Response:
    """RFC 7662 §2.1 and RFC 7009 §2.1: client authentication and the ``token`` parameter;
    an error response (RFC 6749 §5.2) when either is missing or wrong."""
    ctx = get_context(request)
    basic = request.headers.get("authorization", "").lower().startswith("basic ")
    try:
        form = await read_form(request)
        client = authenticate_client(ctx, request, form)
        token = form.get("token")
        if not token:
            raise OAuthError("invalid_request", "token is required")
        hint = form.get("token_type_hint")
        if hint not in (None, "access_token", "refresh_token"):
            raise OAuthError("unsupported_token_type", "token_type_hint is not supported")
    except OAuthError as exc:
        return token_error_response(exc, basic_auth_attempted=basic)
    return TokenRequest(ctx, client, form, token)
