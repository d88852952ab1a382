"""The token endpoint ``/op/v1/token`` (RFC 6749 §4.1.3 and §6; OIDC Core §3.1.3 and §12).

Written by hand for the same reason as the authorization endpoint. One transaction per
exchange: the code is consumed and becomes the access token's row, the refresh token (only
with ``offline_access``) is stored, and the disclosure is recorded — all or nothing.
Refresh tokens are single use and rotated; a reused one revokes its whole family (OAuth 2.0
Security BCP §4.14.2). Every answer carries ``Cache-Control: no-store`` (RFC 6749 §5.1).
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import Connection
from starlette.responses import JSONResponse, Response

from leerid.idp import metrics
from leerid.idp.context import ACR_PASSWORD, IdpContext, get_context
from leerid.idp.oauth.errors import NO_STORE, OAuthError
from leerid.idp.oauth.id_token import make_id_token
from leerid.idp.oauth.rfc7636 import verify_s256
from leerid.idp.release import (
    Release,
    decide,
    pupil_from_row,
    release_for,
    today,
)
from leerid.idp.store import grants
from leerid.idp.store.clients import Client
from leerid.idp.store.disclosures import disclosure_values, record_disclosure
from leerid.idp.web.client_auth import authenticate_client, read_form
from leerid.idp.web.errors import token_error_response
from leerid.protocol import PupilClaims

__all__ = ["router"]

router = APIRouter()


_CODE_WITH_PUPIL = grants.grant_with_pupil(grants.CODE_COLUMNS, grants.G.c.code_hash)


class _RacedError(Exception):
    """Another request consumed the code or refresh token first: roll back, then revoke."""


async def token(request: Request) -> Response:
    """Exchange a code or a refresh token for tokens."""
    started = time.perf_counter()
    ctx = get_context(request)
    basic = request.headers.get("authorization", "").lower().startswith("basic ")
    try:
        form = await read_form(request)
        body = await ctx.run(_grant, ctx, request, form)
    except OAuthError as exc:
        metrics.TOKEN_ERRORS.labels(exc.error).inc()
        return token_error_response(exc, basic_auth_attempted=basic)
    metrics.TOKEN_LATENCY.observe(time.perf_counter() - started)
    return JSONResponse(body, headers=NO_STORE)


# A plain Starlette route: the hot path skips FastAPI's dependency solving per request.
router.add_route("/v1/token", token, methods=["POST"])


def _grant(ctx: IdpContext, request: Request, form: dict[str, str]) -> dict[str, Any]:
    """Authenticate the client and run its grant (in a worker thread)."""
    client = authenticate_client(ctx, request, form)
    grant_type = form.get("grant_type")
    if grant_type == "authorization_code":
        return _authorization_code(ctx, client, form)
    if grant_type == "refresh_token":
        return _refresh_token(ctx, client, form)
    if not grant_type:
        raise OAuthError("invalid_request", "grant_type is required")
    raise OAuthError("unsupported_grant_type", "use authorization_code or refresh_token")


def _release(
    ctx: IdpContext,
    client: Client,
    scope: str,
    account_uuid: str,
    *,
    fetched: tuple[PupilClaims | None] | None = None,
) -> Release:
    """The release for the grant; ``fetched`` holds the pupil when it was read already."""
    protocol = ctx.protocols.get(client.protocol_id)
    if fetched is not None:
        release = decide(protocol, scope.split(), fetched[0], _now())
    else:
        release = release_for(ctx.autocommit, protocol, scope.split(), account_uuid, _now())
    if release.refused is None and "sub" not in release.claims:
        return Release({}, release.pupil, "protocol_releases_no_sub")
    return release


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _refuse(ctx: IdpContext, client: Client, account_uuid: str, reason: str) -> OAuthError:
    """Issue 4 §5: a refused release is recorded with its reason."""
    protocol = ctx.protocols.get(client.protocol_id)
    with ctx.engine.begin() as conn:
        record_disclosure(
            conn,
            client_id=client.client_id,
            endpoint="token",
            claims=(),
            protocol_id=client.protocol_id,
            protocol_hash=protocol.content_hash if protocol else None,
            leer_id_uuid=None,
            account_uuid=account_uuid,
            outcome="refused",
            reason=reason,
        )
    metrics.LOGIN_FAILURES.labels(reason).inc()
    return OAuthError("invalid_grant", f"no data may be released to this client ({reason})")


def _token_body(
    ctx: IdpContext,
    client: Client,
    *,
    release: Release,
    scope: str,
    access_token: str,
    refresh_token: str | None,
    auth_time: dt.datetime,
    nonce: str | None,
    sid: str | None,
) -> dict[str, Any]:
    id_token = make_id_token(
        ctx.keys,
        alg=client.id_token_alg,
        issuer=ctx.settings.issuer,
        client_id=client.client_id,
        claims=release.claims,
        auth_time=int(auth_time.timestamp()),
        nonce=nonce,
        access_token=access_token,
        acr=ACR_PASSWORD,
        sid=sid,
        lifetime=ctx.settings.id_token_lifetime,
    )
    body: dict[str, Any] = {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": ctx.settings.access_token_lifetime,
        "id_token": id_token,
        "scope": scope,
    }
    if refresh_token is not None:
        body["refresh_token"] = refresh_token
    return body


def _disclosure_fields(ctx: IdpContext, client: Client, release: Release) -> dict[str, Any]:
    protocol = ctx.protocols.get(client.protocol_id)
    assert release.pupil is not None
    return {
        "client_id": client.client_id,
        "endpoint": "token",
        "claims": release.claims.keys(),
        "protocol_id": client.protocol_id,
        "protocol_hash": protocol.content_hash if protocol else None,
        "leer_id_uuid": release.pupil.leer_id_uuid,
        "account_uuid": release.pupil.account_uuid,
    }


def _authorization_code(ctx: IdpContext, client: Client, form: dict[str, str]) -> dict[str, Any]:
    """RFC 6749 §4.1.3 with RFC 7636 §4.6 (PKCE) and §10.5 (single use)."""
    code = form.get("code")
    if not code:
        raise OAuthError("invalid_request", "code is required")
    now = _now()
    with ctx.autocommit.connect() as conn:  # the reads of the exchange on one connection
        row = _CODE_WITH_PUPIL[conn.dialect.name](
            conn, {"b_hash": grants.token_hash(code), "on": today(now)}
        ).first()
        found = grants.code_grant_from_row(row)
        pupil = pupil_from_row(row, found[0].account_uuid) if found is not None else None
        return _exchange_code(ctx, client, form, code, found, pupil, now, conn)


def _exchange_code(
    ctx: IdpContext,
    client: Client,
    form: dict[str, str],
    code: str,
    found: tuple[grants.CodeGrant, dt.datetime, bool] | None,
    pupil: PupilClaims | None,
    now: dt.datetime,
    conn: Connection,
) -> dict[str, Any]:
    if found is None:
        raise OAuthError("invalid_grant", "the code is unknown")
    grant, expires_at, used = found
    if grant.client_id != client.client_id:
        raise OAuthError("invalid_grant", "the code was issued to another client")
    if used:
        # RFC 6749 §4.1.2: a code used twice revokes the tokens issued from it.
        with ctx.engine.begin() as tx:
            grants.revoke_grant_tokens(tx, grant, now)
        raise OAuthError("invalid_grant", "the code was used before; its tokens are revoked")
    if expires_at <= now:
        raise OAuthError("invalid_grant", "the code has expired (codes live 30 seconds)")
    if form.get("redirect_uri") != grant.redirect_uri:
        raise OAuthError("invalid_grant", "redirect_uri differs from the authorization request")
    if grant.code_challenge is None or not verify_s256(
        form.get("code_verifier"), grant.code_challenge
    ):
        raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")
    release = _release(ctx, client, grant.scope, grant.account_uuid, fetched=(pupil,))
    if release.refused is not None:
        raise _refuse(ctx, client, grant.account_uuid, release.refused)
    access_token = grants.new_token()
    offline = "offline_access" in grant.scope.split()
    refresh_token = grants.new_token() if offline else None
    family_id = secrets.token_hex(16) if offline else None
    body = _token_body(
        ctx,
        client,
        release=release,
        scope=grant.scope,
        access_token=access_token,
        refresh_token=refresh_token,
        auth_time=grant.auth_time,
        nonce=grant.nonce,
        sid=grant.sid,
    )
    expires = now + dt.timedelta(seconds=ctx.settings.access_token_lifetime)
    if refresh_token is None and conn.dialect.name == "postgresql":
        # Without a refresh token, PostgreSQL does the exchange in one atomic statement.
        disclosure = disclosure_values(**_disclosure_fields(ctx, client, release))
        if not grants.consume_code_recording(
            conn,
            grant.grant_id,
            access_token=access_token,
            access_expires_at=expires,
            now=now,
            disclosure=disclosure,
        ):
            with ctx.engine.begin() as tx:
                grants.revoke_grant_tokens(tx, grant, now)
            raise OAuthError("invalid_grant", "the code was used before; its tokens are revoked")
        metrics.CODE_ACCESS_TOKENS.inc()
        metrics.CODE_ID_TOKENS.inc()
        return body
    try:
        with ctx.engine.begin() as tx:
            if not grants.consume_code(
                tx,
                grant.grant_id,
                access_token=access_token,
                access_expires_at=expires,
                family_id=family_id,
                now=now,
            ):
                raise _RacedError()
            if refresh_token is not None and family_id is not None:
                grants.store_refresh_token(
                    tx,
                    refresh_token=refresh_token,
                    family_id=family_id,
                    client_id=client.client_id,
                    account_uuid=grant.account_uuid,
                    scope=grant.scope,
                    auth_time=grant.auth_time,
                    lifetime=ctx.settings.refresh_token_lifetime,
                    now=now,
                )
            record_disclosure(tx, **_disclosure_fields(ctx, client, release))
    except _RacedError:
        with ctx.engine.begin() as tx:
            grants.revoke_grant_tokens(tx, grant, now)
        raise OAuthError(
            "invalid_grant", "the code was used before; its tokens are revoked"
        ) from None
    metrics.CODE_ACCESS_TOKENS.inc()
    metrics.CODE_ID_TOKENS.inc()
    if refresh_token is not None:
        metrics.TOKENS.labels("refresh_token", "authorization_code").inc()
    return body


def _refresh_token(ctx: IdpContext, client: Client, form: dict[str, str]) -> dict[str, Any]:
    """RFC 6749 §6: single use, rotated; a reused token revokes its family."""
    presented = form.get("refresh_token")
    if not presented:
        raise OAuthError("invalid_request", "refresh_token is required")
    now = _now()
    with ctx.autocommit.connect() as conn:
        found = grants.find_refresh_token(conn, presented)
    if found is None or found.client_id != client.client_id:
        raise OAuthError("invalid_grant", "the refresh token is unknown")
    if found.used:  # OAuth 2.0 Security BCP §4.14.2: reuse revokes the family
        with ctx.engine.begin() as conn:
            grants.revoke_family(conn, found.family_id, now)
        raise OAuthError(
            "invalid_grant", "the refresh token was used before; its family is revoked"
        )
    if found.revoked:
        raise OAuthError("invalid_grant", "the refresh token was revoked")
    if found.expires_at <= now:
        raise OAuthError("invalid_grant", "the refresh token has expired")
    scope = found.scope
    if form.get("scope"):
        asked = form["scope"].split()
        if not set(asked) <= set(found.scope.split()):
            raise OAuthError("invalid_scope", "a refresh may only narrow the granted scope")
        scope = " ".join(asked)
    release = _release(ctx, client, scope, found.account_uuid)
    if release.refused is not None:
        raise _refuse(ctx, client, found.account_uuid, release.refused)
    access_token = grants.new_token()
    new_refresh = grants.new_token()
    body = _token_body(
        ctx,
        client,
        release=release,
        scope=scope,
        access_token=access_token,
        refresh_token=new_refresh,
        auth_time=found.auth_time,
        nonce=None,
        sid=None,
    )
    try:
        with ctx.engine.begin() as conn:
            if not grants.consume_refresh_token(conn, presented, now):
                raise _RacedError()
            grants.store_refresh_token(
                conn,
                refresh_token=new_refresh,
                family_id=found.family_id,
                client_id=client.client_id,
                account_uuid=found.account_uuid,
                scope=found.scope,
                auth_time=found.auth_time,
                lifetime=ctx.settings.refresh_token_lifetime,
                now=now,
            )
            grants.insert_access_token(
                conn,
                access_token=access_token,
                client_id=client.client_id,
                account_uuid=found.account_uuid,
                scope=scope,
                auth_time=found.auth_time,
                family_id=found.family_id,
                expires_at=now + dt.timedelta(seconds=ctx.settings.access_token_lifetime),
                now=now,
            )
            record_disclosure(conn, **_disclosure_fields(ctx, client, release))
    except _RacedError:
        with ctx.engine.begin() as conn:
            grants.revoke_family(conn, found.family_id, now)
        raise OAuthError(
            "invalid_grant", "the refresh token was used before; its family is revoked"
        ) from None
    metrics.TOKENS.labels("access_token", "refresh_token").inc()
    metrics.TOKENS.labels("refresh_token", "refresh_token").inc()
    return body
