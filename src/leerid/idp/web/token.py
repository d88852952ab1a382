"""The token endpoint ``/op/v1/token`` (RFC 6749 §4.1.3, §4.4 and §6; OIDC Core §3.1.3, §12).

Written by hand for the same reason as the authorization endpoint. One transaction per
exchange: the code is consumed and becomes the access token's row, the refresh token (only
with ``offline_access``, and only when the client's protocol allows disclosure without a
login, art. 5) is stored, and the disclosure is recorded with its transparency-log entry —
all or nothing. Under a protocol that does not allow it, the refresh grant is refused with
``invalid_grant``. Issue 12 §1: the answer carries ``leerid_log_leaf`` (RFC 6749 §5.1 allows
more members), the base64url leaf hash of the ID token's disclosure entry, for the
recipient to ask its inclusion proof; when the log refuses the entry nothing is released:
503 ``temporarily_unavailable`` and the code or refresh token stays unused.
Refresh tokens are single use and rotated; a reused one revokes its whole family (OAuth 2.0
Security BCP §4.14.2). The client credentials grant (§4.4) gives a confidential client a
5-minute JWT access token for the DOV APIs it may call (``oauth/client_credentials``), nothing
else. Every answer carries ``Cache-Control: no-store`` (RFC 6749 §5.1).
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from functools import partial
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from leerid.idp import metrics
from leerid.idp.context import IdpContext, get_context
from leerid.idp.oauth.client_credentials import (
    ACCESS_TOKEN_LIFETIME,
    granted_scope,
    make_access_token,
    token_audience,
)
from leerid.idp.oauth.code_exchange import (
    CODE_REUSED,
    REFRESH_REUSED,
    CodeFacts,
    code_problem,
    narrowed_scope,
    refresh_problem,
)
from leerid.idp.oauth.errors import NO_STORE, OAuthError
from leerid.idp.oauth.id_token import make_id_token
from leerid.idp.release import BoundProtocol, Release, decide, protocol_refusal, today
from leerid.idp.store.clients import Client
from leerid.idp.store.disclosures import DisclosureEntry
from leerid.idp.store.exchange import CodeExchange, RefreshRotation
from leerid.idp.store.grants import CodeGrant, RefreshGrant, new_token
from leerid.idp.store.interface import LogAppendError, leaf_text
from leerid.idp.web.authorization_codes import open_code
from leerid.idp.web.client_auth import authenticate_client, read_form
from leerid.idp.web.errors import log_unavailable, token_error_response
from leerid.protocol import OFFLINE_ACCESS, PupilClaims

__all__ = ["LOG_LEAF_MEMBER", "router"]

LOG_LEAF_MEMBER = "leerid_log_leaf"
"""Issue 12 §1: the token response member with the disclosure entry's leaf hash."""

router = APIRouter()


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
    except LogAppendError:  # issue 12 §1: fail closed (counted where it was refused)
        metrics.TOKEN_ERRORS.labels("temporarily_unavailable").inc()
        return log_unavailable()
    metrics.TOKEN_LATENCY.observe(time.perf_counter() - started)
    return JSONResponse(body, headers=NO_STORE)


# A plain Starlette route: the hot path skips FastAPI's dependency solving per request.
router.add_route("/v1/token", token, methods=["POST"])


def _grant(ctx: IdpContext, request: Request, form: dict[str, str]) -> dict[str, Any]:
    """Authenticate the client and run its grant (in a worker thread)."""
    grant_type = form.get("grant_type")
    if grant_type == "client_credentials" and not _authenticates(request, form):
        granted_scope(None, form.get("scope"))  # RFC 6749 §4.4: a public client is refused
    client = authenticate_client(ctx, request, form)
    if grant_type == "authorization_code":
        return _authorization_code(ctx, client, form)
    if grant_type == "refresh_token":
        return _refresh_token(ctx, client, form)
    if grant_type == "client_credentials":
        return _client_credentials(ctx, client, form)
    if not grant_type:
        raise OAuthError("invalid_request", "grant_type is required")
    raise OAuthError(
        "unsupported_grant_type", "use authorization_code, refresh_token or client_credentials"
    )


def _authenticates(request: Request, form: dict[str, str]) -> bool:
    """Whether the request carries client authentication (public clients cannot, §2.1)."""
    basic = request.headers.get("authorization", "").lower().startswith("basic ")
    return basic or "client_secret" in form or "client_assertion" in form


def _client_credentials(ctx: IdpContext, client: Client, form: dict[str, str]) -> dict[str, Any]:
    """RFC 6749 §4.4.3: an access token (RFC 9068) for the APIs of its scope; no refresh
    token, no ID token."""
    scope = granted_scope(client.auth_method, form.get("scope"), client.api_scopes)
    token = make_access_token(
        ctx.keys.signing_key("RS256"),
        issuer=ctx.settings.issuer,
        audience=token_audience(ctx.settings.issuer, scope),
        client_id=client.client_id,
        scope=scope,
        now=int(time.time()),
    )
    metrics.TOKENS.labels("access_token", "client_credentials").inc()
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_LIFETIME,
        "scope": scope,
    }


def _release(
    ctx: IdpContext,
    client: Client,
    protocol: BoundProtocol | None,
    scope: str,
    pupil: PupilClaims | None,
    now: dt.datetime,
) -> Release:
    """The release for the grant, the pupil fetched now (art. 5); ``sub`` in the client's
    terms (issue 14 point 2), the same in the ID token as at userinfo (OIDC Core §5.3.2)."""
    release = decide(protocol, scope.split(), pupil, now, sub=partial(ctx.sub, client))
    if release.refused is None and "sub" not in release.claims:
        return Release({}, release.pupil, "protocol_releases_no_sub")
    return release


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _offline(protocol: BoundProtocol | None, scope: str) -> bool:
    """A refresh token only for ``offline_access`` and only when art. 5 allows disclosure
    without a login (the authorization endpoint already refused the scope otherwise; this
    holds for a code issued just before a new version of the protocol was stored)."""
    if OFFLINE_ACCESS not in scope.split():
        return False
    return protocol is not None and protocol.allows_refresh()


def _refuse(
    ctx: IdpContext, client: Client, protocol: BoundProtocol | None, account_uuid: str, reason: str
) -> OAuthError:
    """Issue 4 §5: a refused release is recorded with its reason (issue 12 §1: with its log
    entry; when the log refuses it, ``LogAppendError`` answers 503 instead)."""
    ctx.store.record_disclosure(
        _entry(client, protocol, (), None, account_uuid, outcome="refused", reason=reason)
    )
    metrics.LOGIN_FAILURES.labels(reason).inc()
    return OAuthError("invalid_grant", f"no data may be released to this client ({reason})")


def _entry(
    client: Client,
    protocol: BoundProtocol | None,
    claims: Any,
    leer_id_uuid: str | None,
    account_uuid: str,
    *,
    outcome: str = "released",
    reason: str | None = None,
) -> DisclosureEntry:
    """The disclosure record of this endpoint for ``client`` under ``protocol``."""
    return DisclosureEntry(
        client_id=client.client_id,
        endpoint="token",
        claims=claims,
        protocol_id=client.protocol_id,
        protocol_hash=protocol.content_hash if protocol else None,
        leer_id_uuid=leer_id_uuid,
        account_uuid=account_uuid,
        outcome=outcome,
        reason=reason,
    )


def _released(client: Client, protocol: BoundProtocol | None, release: Release) -> DisclosureEntry:
    assert release.pupil is not None
    pupil = release.pupil
    return _entry(client, protocol, release.claims.keys(), pupil.leer_id_uuid, pupil.account_uuid)


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
        acr=ctx.settings.acr,
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


def _authorization_code(ctx: IdpContext, client: Client, form: dict[str, str]) -> dict[str, Any]:
    """RFC 6749 §4.1.3 with RFC 7636 §4.6 (PKCE) and §10.5 (single use)."""
    code = form.get("code")
    if not code:
        raise OAuthError("invalid_request", "code is required")
    now = _now()
    found = open_code(ctx.sealer, code)
    with ctx.store.connect() as db:  # the read and the exchange on one connection
        used, pupil, ended = (
            db.code_with_pupil(found, today(now), client.protocol_id)
            if found is not None and found.client_id == client.client_id
            else (False, None, False)
        )
        grant = _checked_code(ctx, client, form, found, used, now)
        # Art. 8, 11: the end of the protocol, as the code's read saw it (no read of its own)
        protocol = ctx.protocols.current(client.protocol_id, ended)
        release = _release(ctx, client, protocol, grant.scope, pupil, now)
        if release.refused is not None:
            raise _refuse(ctx, client, protocol, grant.account_uuid, release.refused)
        offline = _offline(protocol, grant.scope)
        exchange = CodeExchange(
            access_token=new_token(),
            access_expires_at=now + dt.timedelta(seconds=ctx.settings.access_token_lifetime),
            refresh_token=new_token() if offline else None,
            family_id=secrets.token_hex(16) if offline else None,
            refresh_lifetime=ctx.settings.refresh_token_lifetime,
            now=now,
        )
        body = _code_body(ctx, client, grant, release, exchange)
        leaf = db.exchange_code(grant, exchange, _released(client, protocol, release))
        if leaf is None:
            ctx.store.revoke_code_tokens(grant.grant_id, now)
            raise OAuthError("invalid_grant", CODE_REUSED)
    body[LOG_LEAF_MEMBER] = leaf_text(leaf)
    metrics.CODE_ACCESS_TOKENS.inc()
    metrics.CODE_ID_TOKENS.inc()
    if exchange.refresh_token is not None:
        metrics.TOKENS.labels("refresh_token", "authorization_code").inc()
    return body


def _checked_code(
    ctx: IdpContext,
    client: Client,
    form: dict[str, str],
    found: CodeGrant | None,
    used: bool,
    now: dt.datetime,
) -> CodeGrant:
    """The code's grant when every rule of ``oauth.code_exchange`` holds, else the error."""
    facts = None
    if found is not None:
        facts = CodeFacts(
            found.client_id, found.redirect_uri, found.code_challenge, found.expires_at, used
        )
    problem = code_problem(
        facts,
        client_id=client.client_id,
        redirect_uri=form.get("redirect_uri"),
        code_verifier=form.get("code_verifier"),
        now=now,
        pkce_optional=client.auth_method != "none"
        and not client.rules.pkce_required_for_confidential,
    )
    if problem is not None:
        if found is not None and problem.description == CODE_REUSED:
            ctx.store.revoke_code_tokens(found.grant_id, now)  # RFC 6749 §4.1.2
        raise problem
    assert found is not None
    return found


def _code_body(
    ctx: IdpContext, client: Client, grant: CodeGrant, release: Release, exchange: CodeExchange
) -> dict[str, Any]:
    return _token_body(
        ctx,
        client,
        release=release,
        scope=grant.scope,
        access_token=exchange.access_token,
        refresh_token=exchange.refresh_token,
        auth_time=grant.auth_time,
        nonce=grant.nonce,
        sid=grant.sid,
    )


def _refresh_token(ctx: IdpContext, client: Client, form: dict[str, str]) -> dict[str, Any]:
    """RFC 6749 §6: single use, rotated; a reused token revokes its family."""
    presented = form.get("refresh_token")
    if not presented:
        raise OAuthError("invalid_request", "refresh_token is required")
    now = _now()
    found = _checked_refresh(ctx, client, presented, now)
    scope = narrowed_scope(found.scope, form.get("scope"))
    protocol = ctx.protocols.get(client.protocol_id)
    # Art. 11 before art. 5: no pupil is read for a protocol that is not in force.
    fetch = protocol_refusal(protocol, now) is None
    if fetch and protocol is not None and not protocol.allows_refresh():
        # Art. 5: data only "telkens de leerling inlogt"; a refresh token issued before the
        # protocol said so (or under another version) discloses nothing now.
        raise _refuse(ctx, client, protocol, found.account_uuid, "protocol_requires_login")
    pupil = ctx.store.fetch_pupil(found.account_uuid, today(now)) if fetch else None
    release = _release(ctx, client, protocol, scope, pupil, now)
    if release.refused is not None:
        raise _refuse(ctx, client, protocol, found.account_uuid, release.refused)
    rotation = RefreshRotation(
        presented=presented,
        new_refresh_token=new_token(),
        access_token=new_token(),
        access_expires_at=now + dt.timedelta(seconds=ctx.settings.access_token_lifetime),
        scope=scope,
        refresh_lifetime=ctx.settings.refresh_token_lifetime,
        now=now,
    )
    body = _token_body(
        ctx,
        client,
        release=release,
        scope=scope,
        access_token=rotation.access_token,
        refresh_token=rotation.new_refresh_token,
        auth_time=found.auth_time,
        nonce=None,
        sid=None,
    )
    leaf = ctx.store.rotate_refresh_token(found, rotation, _released(client, protocol, release))
    if leaf is None:
        ctx.store.revoke_family(found.family_id, now)
        raise OAuthError("invalid_grant", REFRESH_REUSED)
    body[LOG_LEAF_MEMBER] = leaf_text(leaf)
    metrics.TOKENS.labels("access_token", "refresh_token").inc()
    metrics.TOKENS.labels("refresh_token", "refresh_token").inc()
    return body


def _checked_refresh(
    ctx: IdpContext, client: Client, presented: str, now: dt.datetime
) -> RefreshGrant:
    """The refresh token's row when every rule holds, else the error (reuse: revoked)."""
    found = ctx.store.find_refresh_token(presented)
    problem = refresh_problem(found, client_id=client.client_id, now=now)
    if problem is not None:
        if found is not None and problem.description == REFRESH_REUSED:
            ctx.store.revoke_family(found.family_id, now)  # Security BCP §4.14.2
        raise problem
    assert found is not None
    return found
