"""Receiving the Department's events: a client-credentials token, then polls (RFC 8936).

One round: take the poll lease; get an access token (``grant_type=client_credentials``,
``scope=leerid:events``, the client authenticated as at the token endpoint, RFC 6749 §4.4);
POST ``{"maxEvents", "returnImmediately": true, "ack", "setErrs"}`` to the events endpoint
named in discovery (``leerid_events_endpoint``); verify every SET (``set_verify``), apply the
good ones (``events_apply``), and acknowledge them and report the rejected ones in the next
request; loop while ``moreAvailable``; a last request carries the final acknowledgements.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import Engine

from leerid.errors import LeeridError
from leerid.protocol import IsoDuration
from leerid.sp.kit import events_state
from leerid.sp.kit.events_apply import Applied, apply_sets, forget_applied, reject
from leerid.sp.kit.relying_party import LoginError, RelyingParty
from leerid.sp.kit.set_verify import (
    EVENT_TYPES,
    Expected,
    SetRejected,
    UnknownKey,
    VerifiedSet,
    verify_set,
)
from leerid.sp.kit.settings import SPSettings

log = logging.getLogger("leerid.sp.events")

SCOPE = "leerid:events"
MAX_EVENTS = 500
MAX_ROUNDS = 1000  # polls per sync at most (500 000 SETs); the next sync goes on


class EventsUnavailableError(LeeridError):
    """The Department's events could not be fetched; the message says why and what to do."""

    exit_code = 3


@dataclass(frozen=True)
class SyncResult:
    applied: int
    duplicates: int
    rejected: int
    failed: int
    polls: int


def _fail(what: str, detail: str) -> EventsUnavailableError:
    return EventsUnavailableError(f"{what}: {detail}")


class EventsClient:
    """Polls one issuer's events endpoint as one client (``[provider]`` of the settings)."""

    def __init__(self, settings: SPSettings, engine: Engine, rp: RelyingParty) -> None:
        self.settings = settings
        self.engine = engine
        self.rp = rp
        self._token: tuple[str, float] | None = None
        self._lock = asyncio.Lock()  # one round at a time in this process
        self.max_age = IsoDuration.parse(settings.events.max_age)

    async def _endpoint(self) -> str:
        try:
            meta = await self.rp.metadata()
        except LoginError as exc:
            raise _fail("the provider cannot be reached", exc.message) from None
        endpoint = meta.get("leerid_events_endpoint")
        if not isinstance(endpoint, str) or not endpoint:
            raise _fail(
                "the provider publishes no events endpoint",
                f"its discovery document at {self.settings.issuer} lacks "
                "leerid_events_endpoint; ask the Department to update LeerID",
            )
        return endpoint

    async def access_token(self) -> str:
        """A client-credentials token for ``leerid:events`` (kept until shortly before its
        ``expires_in``); never logged."""
        if self._token is not None and self._token[1] > time.monotonic():
            return self._token[0]
        meta = await self.rp.metadata()
        try:
            response = await self.rp.post_authenticated(
                meta["token_endpoint"], {"grant_type": "client_credentials", "scope": SCOPE}
            )
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise _fail("the token request failed", type(exc).__name__) from None
        if response.status_code != 200 or not isinstance(data, dict):
            error = data.get("error") if isinstance(data, dict) else None
            raise _fail(
                "the provider refused the token request",
                f"HTTP {response.status_code} {error or ''}".strip()
                + "; check that this client is registered as confidential and may use "
                "leerid:events (leerid clients show)",
            )
        token = str(data.get("access_token", ""))
        lifetime = float(data.get("expires_in", 300))
        self._token = (token, time.monotonic() + max(lifetime - 30, 1))
        return token

    async def _poll(self, endpoint: str, body: Mapping[str, Any]) -> dict[str, Any]:
        for attempt in (1, 2):
            try:
                response = await self.rp.post_json(endpoint, body, await self.access_token())
            except httpx.HTTPError as exc:
                raise _fail("the events endpoint cannot be reached", type(exc).__name__) from None
            if response.status_code == 401 and attempt == 1:
                self._token = None  # expired or revoked: one new token, one more try
                continue
            break
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code != 200 or not isinstance(data, dict):
            err = data.get("err") if isinstance(data, dict) else None
            raise _fail(
                "the events endpoint refused the poll",
                f"HTTP {response.status_code} {err or ''}".strip(),
            )
        sets = data.get("sets", {})
        if not isinstance(sets, dict):
            raise _fail("the events endpoint answered badly", "sets is not an object")
        return data

    def _expected(self) -> Expected:
        now = dt.datetime.now(dt.UTC)
        return Expected(
            issuer=self.settings.issuer,
            client_id=self.settings.client_id,
            now=now,
            max_age=now - self.max_age.before(now),
        )

    async def _verify(self, jti: str, token: Any, expected: Expected) -> VerifiedSet:
        if not isinstance(token, str):
            raise SetRejected("invalid_request", "the SET is not a compact JWS")
        try:
            verified = verify_set(token, await self.rp.key_set(), expected)
        except UnknownKey:  # keys rotated: refetch once (as for ID tokens)
            verified = verify_set(token, await self.rp.key_set(refresh=True), expected)
        if verified.jti != jti:
            raise SetRejected("invalid_request", "the SET's jti differs from its key in sets")
        return verified

    async def receive(self, sets: Mapping[str, Any]) -> Applied:
        """Verify the ``sets`` of one poll answer (jti → compact JWS) and apply the good ones;
        the rejected ones are logged and returned in ``errors`` (for ``setErrs``)."""
        good: list[VerifiedSet] = []
        result = Applied()
        expected = self._expected()  # one moment for the whole poll answer
        for jti, token in sets.items():
            try:
                good.append(await self._verify(jti, token, expected))
            except SetRejected as exc:
                await asyncio.to_thread(reject, self.engine, str(jti), _type_of(token), exc)
                result.errors[str(jti)] = exc
        if good:
            result.add(await asyncio.to_thread(apply_sets, self.engine, good))
        return result

    async def sync(self) -> SyncResult | None:
        """One round under the poll lease; None when another process is polling now."""
        async with self._lock:
            return await self._leased()

    async def _leased(self) -> SyncResult | None:
        holder = secrets.token_hex(8)
        if not await asyncio.to_thread(events_state.take_lease, self.engine, holder):
            return None  # another process polls now
        error: str | None = "interrupted"
        try:
            result = await self._rounds()
            error = None
            return result
        except EventsUnavailableError as exc:
            error = exc.message
            raise
        finally:
            await asyncio.to_thread(events_state.release, self.engine, holder, error=error)

    async def _rounds(self) -> SyncResult:
        endpoint = await self._endpoint()
        total, polls = Applied(), 0
        ack: list[str] = []
        errs: dict[str, SetRejected] = {}
        more = True
        while more and polls < MAX_ROUNDS:
            data = await self._poll(endpoint, _body(MAX_EVENTS, ack, errs))
            polls += 1
            batch = await self.receive(data["sets"])
            total.add(batch)
            ack, errs = batch.acknowledge, batch.errors
            # no progress (every SET failed to apply): stop, they come again next time
            more = bool(data.get("moreAvailable")) and bool(ack or errs)
        if ack or errs:  # RFC 8936 §2.4.2: acknowledge without asking for more
            await self._poll(endpoint, _body(0, ack, errs))
            polls += 1
        cutoff = self.max_age.before(dt.datetime.now(dt.UTC))
        await asyncio.to_thread(forget_applied, self.engine, cutoff)
        return SyncResult(total.applied, total.duplicates, len(total.errors), total.failed, polls)


def _body(max_events: int, ack: list[str], errs: Mapping[str, SetRejected]) -> dict[str, Any]:
    body: dict[str, Any] = {"maxEvents": max_events, "returnImmediately": True}
    if ack:
        body["ack"] = ack
    if errs:
        body["setErrs"] = {
            jti: {"err": e.err, "description": e.description} for jti, e in errs.items()
        }
    return body


def _type_of(token: Any) -> str:
    """The event type of a rejected SET, read without trusting it, for the log (a known
    type's name or ``unknown``: nothing else of the payload is written anywhere)."""
    try:
        part = str(token).split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        types = list(claims.get("events", {}))
    except (ValueError, IndexError, AttributeError):
        return "unknown"
    return types[0] if len(types) == 1 and types[0] in EVENT_TYPES else "unknown"
