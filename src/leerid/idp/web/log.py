"""Issue 12 §2 to §3: DOV's transparency log over HTTP, under ``/op/v1/log``.

Public (no authentication, no personal data: entries hold pseudonyms and claim names only):

- ``GET /v1/log/checkpoint[?size=S]``: the newest checkpoint (or that of size S) as a C2SP
  signed note with DOV's signature and every cosignature received for it (C2SP
  tlog-checkpoint, tlog-cosignature); ``text/plain; charset=utf-8``, ``max-age=1``.
- ``GET /v1/log/proof/inclusion?index=N[&size=S]`` or ``?hash=H[&size=S]``: RFC 9162
  §2.1.3; ``GET /v1/log/proof/consistency?first=A[&second=B]``: RFC 9162 §2.1.4;
  ``GET /v1/log/entries?start=A&end=B``: at most 1,000 entries, ``start <= index < end``.
- ``GET /v1/log/tile/<L>/<N>[.p/<W>]`` and ``/v1/log/tile/entries/<N>[.p/<W>]``: the
  C2SP tlog-tiles static resources (``log_tiles``).

Client-authenticated (as ``POST /op/v1/notices``): ``POST /v1/log/cosignature?size=S``, a
witness's cosignature line (``text/plain`` with HTTP Basic, or a form with ``cosignature``
and any of the client's authentication methods) → 204.

Bad input: 400 ``invalid_request`` with what is wrong and what to ask instead; an entry not
in a checkpoint yet: 404 ``not_found``. Hashes are base64url without padding.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from leerid.errors import ConfigurationError, LeeridError
from leerid.idp.context import IdpContext, get_context
from leerid.idp.oauth.errors import NO_STORE, OAuthError
from leerid.idp.store.tlog import proofs
from leerid.idp.store.tlog.checkpoints import cosigned_note, log_origin, log_signer
from leerid.idp.store.tlog.witnesses import CosignatureRefusedError, accept_cosignature
from leerid.idp.web.client_auth import authenticate_client, read_form
from leerid.idp.web.log_params import (
    ParameterError,
    leaf_hash_param,
    tile_request,
    whole,
)
from leerid.transparency.receipt import b64url

__all__ = ["log_metadata", "router"]

router = APIRouter()
_VKEYS: dict[tuple[int, str], str] = {}

_PUBLIC = {"Cache-Control": "max-age=1"}
_LINE_LIMIT = 1000
"""Characters of a cosignature line (a name of up to 200 and 96 base64 characters)."""


def _error(error: str, description: str, status: int) -> Response:
    return JSONResponse({"error": error, "error_description": description}, status, _PUBLIC)


def _refused(exc: LeeridError) -> Response:
    """A ``LeeridError`` of the log as its HTTP answer (404 for a missing entry, else 400)."""
    if isinstance(exc, proofs.NotInCheckpointError):
        return _error("not_found", exc.message, 404)
    return _error("invalid_request", exc.message, 400)


async def _read(ctx: IdpContext, fn: Any, *args: Any) -> Any:
    """``fn(conn, *args)`` on an autocommit connection (reads only)."""

    def run() -> Any:
        with ctx.autocommit.connect() as conn:
            return fn(conn, *args)

    return await ctx.run(run)


def log_metadata(ctx: IdpContext) -> dict[str, str]:
    """Issue 12 §2, for discovery (OpenID Discovery 1.0 §3 allows extra members): where the
    log is and its C2SP verifier key, which witnesses and receipt checkers pin."""
    s = ctx.settings
    cached = (id(ctx.engine), s.tlog_origin)
    if cached not in _VKEYS:  # the key never changes: read once per process
        try:
            origin = log_origin(ctx.engine, s.tlog_origin, explicit=s.tlog_origin_set)
        except ConfigurationError:  # the integrator logs it and signs nothing
            origin = s.tlog_origin
        _VKEYS[cached] = log_signer(ctx.engine, origin).vkey
    vkey = _VKEYS[cached]
    return {
        "leerid_log_origin": vkey.split("+", 1)[0],
        "leerid_log_vkey": vkey,
        "leerid_log_checkpoint_endpoint": s.endpoint("v1/log/checkpoint"),
        "leerid_log_inclusion_endpoint": s.endpoint("v1/log/proof/inclusion"),
        "leerid_log_consistency_endpoint": s.endpoint("v1/log/proof/consistency"),
        "leerid_log_entries_endpoint": s.endpoint("v1/log/entries"),
        "leerid_log_cosignature_endpoint": s.endpoint("v1/log/cosignature"),
    }


@router.get("/v1/log/checkpoint")
async def checkpoint(request: Request) -> Response:
    """C2SP tlog-tiles "Checkpoints": the signed note, cosignatures included."""
    ctx = get_context(request)
    try:
        size = whole(request.query_params, "size")
    except ParameterError as exc:
        return _refused(exc)
    note = await _read(ctx, cosigned_note, size)
    if note is None:
        what = "the log has no checkpoint yet" if size is None else f"no checkpoint of size {size}"
        return _error(
            "not_found", f"{what}: DOV signs one about a second after entries arrive", 404
        )
    return PlainTextResponse(note, media_type="text/plain; charset=utf-8", headers=_PUBLIC)


@router.get("/v1/log/proof/inclusion")
async def inclusion(request: Request) -> Response:
    """RFC 9162 §2.1.3: an entry (by index or by leaf hash) and its inclusion proof."""
    ctx, params = get_context(request), request.query_params
    try:
        index, leaf = whole(params, "index"), leaf_hash_param(params)
        size = whole(params, "size")
        if (index is None) == (leaf is None):
            raise ParameterError("give either index (a whole number) or hash (a leaf hash)")
        if leaf is not None:
            found = await _read(ctx, proofs.inclusion_by_hash, leaf, size)
        else:
            found = await _read(ctx, proofs.inclusion_by_index, index, size)
    except LeeridError as exc:
        return _refused(exc)
    return JSONResponse(found.as_json(), headers=_PUBLIC)


@router.get("/v1/log/proof/consistency")
async def consistency(request: Request) -> Response:
    """RFC 9162 §2.1.4: the tree of ``second`` entries extends the tree of ``first``."""
    ctx, params = get_context(request), request.query_params
    try:
        first = whole(params, "first", required=True)
        second = whole(params, "second")
        found = await _read(ctx, proofs.consistency, first, second)
    except LeeridError as exc:
        return _refused(exc)
    return JSONResponse(found.as_json(), headers=_PUBLIC)


@router.get("/v1/log/entries")
async def entries(request: Request) -> Response:
    """Issue 12 §2: the entries by range, for auditors."""
    ctx, params = get_context(request), request.query_params
    try:
        start = whole(params, "start", required=True)
        end = whole(params, "end", required=True)
        rows = await _read(ctx, proofs.entries_between, start, end)
    except LeeridError as exc:
        return _refused(exc)
    body = {"entries": [{"index": index, "entry": b64url(entry)} for index, entry in rows]}
    return JSONResponse(body, headers={"Cache-Control": "max-age=3600"})


@router.get("/v1/log/tile/{path:path}")
async def tile(request: Request, path: str) -> Response:
    """C2SP tlog-tiles: a tile or an entry bundle, immutable once in a checkpoint."""
    ctx = get_context(request)
    try:
        level, index, width = tile_request(path)
        if level is None:
            data = await _read(ctx, proofs.entry_bundle, index, width)
        else:
            data = await _read(ctx, proofs.tile_hashes, level, index, width)
    except LeeridError as exc:
        return _refused(exc)
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )


async def _cosigner(request: Request) -> tuple[str, str] | Response:
    """The authenticated client and its cosignature line, or the error to answer."""
    ctx = get_context(request)
    plain = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if plain == "text/plain":
            line = (await request.body()).decode("utf-8")
            client = authenticate_client(ctx, request, {})
        else:
            form = await read_form(request)
            client = authenticate_client(ctx, request, form)
            line = form.get("cosignature", "")
    except UnicodeDecodeError:
        return _error("invalid_request", "the body is not UTF-8", 400)
    except OAuthError as exc:
        status = 401 if exc.error == "invalid_client" else exc.status_code
        return JSONResponse({"error": exc.error, "error_description": exc.description}, status)
    if not line.strip() or len(line) > _LINE_LIMIT:
        return _error(
            "invalid_request",
            "send one cosignature line '— <name> <base64>' as the text/plain body or as the "
            f"form parameter cosignature (at most {_LINE_LIMIT} characters)",
            400,
        )
    return client.client_id, line


@router.post("/v1/log/cosignature")
async def cosignature(request: Request) -> Response:
    """C2SP tlog-cosignature: a registered witness's cosignature of a stored checkpoint."""
    try:
        size = whole(request.query_params, "size", required=True)
    except ParameterError as exc:
        return _refused(exc)
    got = await _cosigner(request)
    if isinstance(got, Response):
        return got
    client_id, line = got
    ctx = get_context(request)
    try:
        await ctx.run(accept_cosignature, ctx.engine, client_id, size, line)
    except CosignatureRefusedError as exc:
        return JSONResponse(
            {"error": "invalid_request", "error_description": exc.message}, 400, NO_STORE
        )
    return Response(status_code=204, headers=NO_STORE)
