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
from joserfc.jwk import KeySet
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

    async def check(self, sets: Mapping[str, Any]) -> tuple[list[VerifiedSet], Applied]:
        """Verify the ``sets`` of one poll answer (jti -> compact JWS): the good ones, and the
        rejected ones logged and in ``errors`` (for ``setErrs``). The key set is read once
        per answer and fetched again once when a ``kid`` is unknown (keys rotate)."""
        good: list[VerifiedSet] = []
        result = Applied()
        expected = self._expected()  # one moment for the whole poll answer
        keys, refreshed = await self.rp.key_set(), False
        rejected: list[tuple[str, str, SetRejected]] = []
        for jti, token in sets.items():
            try:
                try:
                    good.append(_verified(jti, token, keys, expected))
                except UnknownKey:
                    if refreshed:
                        raise
                    keys, refreshed = await self.rp.key_set(refresh=True), True
                    good.append(_verified(jti, token, keys, expected))
            except SetRejected as exc:
                rejected.append((str(jti), _type_of(token), exc))
                result.errors[str(jti)] = exc
        if rejected:
            await asyncio.to_thread(_reject_all, self.engine, rejected)
        return good, result

    async def receive(self, sets: Mapping[str, Any]) -> Applied:
        """Verify the ``sets`` of one poll answer and apply the good ones (``check``, then
        ``apply_sets``); what to acknowledge and what to report in ``setErrs``."""
        good, result = await self.check(sets)
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
        """Polls while more SETs wait, in a pipeline: while one answer is verified the next
        poll is on its way and the answer before is applied (the provider delivers a SET
        again only some time after its first delivery, RFC 8936 §2.4, so the next poll
        brings the SETs after these). Batches are applied one after the other, in the order
        they came; acknowledgements and errors ride on the next poll."""
        endpoint = await self._endpoint()
        total, polls = Applied(), 1
        answered = Applied()  # applied or rejected, not yet told to the provider
        data = await self._poll(endpoint, _body(MAX_EVENTS, [], {}))
        applying: asyncio.Task[Applied] | None = None
        stalled = False
        while True:
            fetching: asyncio.Task[dict[str, Any]] | None = None
            if data.get("moreAvailable") and polls < MAX_ROUNDS:
                body = _body(MAX_EVENTS, answered.acknowledge, answered.errors)
                fetching = asyncio.create_task(self._poll(endpoint, body))
                polls += 1
                total.add(answered)
                answered = Applied()
            try:
                good, checked = await self.check(data["sets"])
                answered.add(checked)
                if applying is not None:
                    done = await applying
                    answered.add(done)
                    stalled = not (done.acknowledge or done.errors)
                    if stalled:
                        good = []  # no progress (nothing applied): stop; they come again
                applying = None
                if good:
                    applying = asyncio.create_task(asyncio.to_thread(apply_sets, self.engine, good))
            except BaseException:
                if fetching is not None:
                    fetching.cancel()
                raise
            if fetching is None:
                break
            try:
                data = await fetching
            except BaseException:
                if applying is not None:  # let the batch finish applying (its SETs come again)
                    await asyncio.wait([applying])
                raise
            if stalled:
                break  # the SETs of this answer are not applied: they come again later
        if applying is not None:
            answered.add(await applying)
        acks, errs = answered.acknowledge, list(answered.errors.items())
        while acks or errs:  # RFC 8936 §2.4.2: acknowledge without asking for more
            part = dict(errs[:MAX_EVENTS])
            await self._poll(endpoint, _body(0, acks[:MAX_EVENTS], part))
            acks, errs = acks[MAX_EVENTS:], errs[MAX_EVENTS:]
            polls += 1
        total.add(answered)
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


def _verified(jti: Any, token: Any, keys: KeySet, expected: Expected) -> VerifiedSet:
    if not isinstance(token, str):
        raise SetRejected("invalid_request", "the SET is not a compact JWS")
    verified = verify_set(token, keys, expected)
    if verified.jti != jti:
        raise SetRejected("invalid_request", "the SET's jti differs from its key in sets")
    return verified


def _reject_all(engine: Engine, rejected: list[tuple[str, str, SetRejected]]) -> None:
    for jti, event_type, exc in rejected:
        reject(engine, jti, event_type, exc)
