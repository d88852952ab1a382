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
from dataclasses import dataclass, field
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
MAX_EVENTS = 1000
MAX_ROUNDS = 1000  # polls per sync at most (1,000,000 SETs); the next sync goes on


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
        """Verify the ``sets`` of one poll answer (jti -> compact JWS): the good ones in their
        order, and the rejected ones logged and in ``errors`` (for ``setErrs``). The work runs
        in a thread, so the event loop keeps the next poll going meanwhile (the RSA checks
        release the GIL). The key set is read once per answer and fetched again once when a
        ``kid`` is unknown (keys rotate)."""
        expected = self._expected()  # one moment for the whole poll answer
        items = list(sets.items())
        outcomes = await asyncio.to_thread(_verify_all, items, await self.rp.key_set(), expected)
        unknown = [i for i, outcome in enumerate(outcomes) if isinstance(outcome, UnknownKey)]
        if unknown:
            keys = await self.rp.key_set(refresh=True)
            again = await asyncio.to_thread(
                _verify_all, [items[i] for i in unknown], keys, expected
            )
            for i, outcome in zip(unknown, again, strict=True):
                outcomes[i] = outcome
        good: list[VerifiedSet] = []
        result = Applied()
        rejected: list[tuple[str, str, SetRejected]] = []
        for (jti, token), outcome in zip(items, outcomes, strict=True):
            if isinstance(outcome, SetRejected):
                rejected.append((str(jti), _type_of(token), outcome))
                result.errors[str(jti)] = outcome
            else:
                good.append(outcome)
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
        """Polls while more SETs wait (``_pipeline``), then the last answers, sent without
        asking for more SETs (RFC 8936 §2.4.2)."""
        endpoint = await self._endpoint()
        total, answers = Applied(), _Answers()
        # one sync at a time (the lease): a SET sent before and not answered was lost with the
        # process that fetched it, so it is asked for again now, ahead of anything newer
        first = {**answers.body(MAX_EVENTS), "leerid_resend_unacknowledged": True}
        polls = 1 + await self._pipeline(
            endpoint, await self._poll(endpoint, first), answers, total
        )
        while answers:
            await self._poll(endpoint, answers.body(0))
            polls += 1
        cutoff = self.max_age.before(dt.datetime.now(dt.UTC))
        await asyncio.to_thread(forget_applied, self.engine, cutoff)
        return SyncResult(total.applied, total.duplicates, len(total.errors), total.failed, polls)

    async def _pipeline(
        self, endpoint: str, data: dict[str, Any], answers: _Answers, total: Applied
    ) -> int:
        """From the first poll answer ``data`` on: while one answer is verified the next poll
        is on its way and the answer before is applied (the provider delivers a SET again only
        some time after its delivery, RFC 8936 §2.4, so the next poll brings the SETs after
        these). Batches are applied one after the other, in the order they came; answers ride
        on the next poll. When a batch stops at a SET that failed (``Applied.unprocessed``),
        that SET and every one fetched after it go back (``leerid_redeliver``): they come
        first at the next sync, in their order, and no newer change overtakes them (nor when
        that last poll is lost or the process stopped: the first poll of a sync asks for
        every SET sent and not answered). The polls made."""
        polls = 0
        applying: asyncio.Task[Applied] | None = None
        while True:
            fetching: asyncio.Task[dict[str, Any]] | None = None
            if data.get("moreAvailable") and polls + 1 < MAX_ROUNDS:
                fetching = asyncio.create_task(self._poll(endpoint, answers.body(MAX_EVENTS)))
                polls += 1
            try:
                good, checked = await self.check(data["sets"])
                _count(checked, answers, total)
                if applying is not None:
                    _count(await applying, answers, total)
                applying = None
                if answers.redeliver:  # stopped: this batch waits behind the failed SET
                    answers.redeliver += [item.jti for item in good]
                elif good:
                    applying = asyncio.create_task(asyncio.to_thread(apply_sets, self.engine, good))
                if fetching is None:
                    break
                data = await fetching
            except BaseException:
                if fetching is not None:
                    fetching.cancel()
                if applying is not None:  # let the batch finish applying (its SETs come again)
                    await asyncio.wait([applying])
                raise
            if answers.redeliver:
                answers.redeliver += list(data["sets"])
                break
        if applying is not None:
            _count(await applying, answers, total)
        return polls


def _count(result: Applied, answers: _Answers, total: Applied) -> None:
    answers.add(result)
    total.add(result)


@dataclass
class _Answers:
    """What the recipient has to tell the provider: SETs processed (``ack``), rejected
    (``setErrs``) and not processed (``leerid_redeliver``), sent with the next polls."""

    acks: list[str] = field(default_factory=list)
    errors: dict[str, SetRejected] = field(default_factory=dict)
    redeliver: list[str] = field(default_factory=list)

    def add(self, result: Applied) -> None:
        self.acks += result.acknowledge
        self.errors.update(result.errors)
        self.redeliver += result.unprocessed

    def __bool__(self) -> bool:
        return bool(self.acks or self.errors or self.redeliver)

    def body(self, max_events: int) -> dict[str, Any]:
        """A poll asking for ``max_events`` SETs with up to ``MAX_EVENTS`` answers of each
        kind (the provider's limit per request); those are taken out of ``self``."""
        body: dict[str, Any] = {"maxEvents": max_events, "returnImmediately": True}
        if self.acks:
            body["ack"], self.acks = self.acks[:MAX_EVENTS], self.acks[MAX_EVENTS:]
        if self.errors:
            errs = list(self.errors.items())
            sent, self.errors = errs[:MAX_EVENTS], dict(errs[MAX_EVENTS:])
            body["setErrs"] = {j: {"err": e.err, "description": e.description} for j, e in sent}
        if self.redeliver:
            body["leerid_redeliver"] = self.redeliver[:MAX_EVENTS]
            self.redeliver = self.redeliver[MAX_EVENTS:]
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


def _verify_all(
    items: list[tuple[Any, Any]], keys: KeySet, expected: Expected
) -> list[VerifiedSet | SetRejected]:
    """Each ``(jti, token)`` verified, or why it is rejected (``UnknownKey``: fetch the key
    set again and retry), in the order given."""
    outcomes: list[VerifiedSet | SetRejected] = []
    for jti, token in items:
        try:
            if not isinstance(token, str):
                raise SetRejected("invalid_request", "the SET is not a compact JWS")
            verified = verify_set(token, keys, expected)
            if verified.jti != jti:
                raise SetRejected("invalid_request", "the SET's jti differs from its key in sets")
            outcomes.append(verified)
        except SetRejected as exc:
            outcomes.append(exc)
    return outcomes


def _reject_all(engine: Engine, rejected: list[tuple[str, str, SetRejected]]) -> None:
    for jti, event_type, exc in rejected:
        reject(engine, jti, event_type, exc)
