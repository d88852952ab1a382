"""The publisher: DOV's change feed (``dov_change``) -> one signed SET per entitled client.

In one transaction: take the feed's lock (PostgreSQL: the advisory ``FEED_LOCK``, so no
change still being written is passed; both backends: the cursor row, so two provider nodes
never publish the same change), read the changes after the cursor in ``id`` order (a bounded
batch), find each one's recipients, sign a SET for each (RFC 8417, ``idp/oauth/rfc8417``),
insert them in the outbox with one transparency-log ``event`` entry each (issue 12 §1: its
type, ``jti``, client and protocol, and the pupils it names as pseudonyms), mark the protocol
endings as notified, and move the cursor. A client registered without ever hearing which
protocol version binds it is sent it first. When the log refuses the entries nothing is
published (``LogAppendError``; the transaction rolls back).

Who receives a change (issue 10, point 3):

- addressed to a client (``client_id``): that client;
- addressed to a protocol (``protocol_id``): every active client bound to it, ended or not
  (art. 8: the termination's notice must reach the recipient);
- about a pupil (``leer_id_uuid``, ``account_uuids``; for a merge both pupils): every active
  client that received that pupil's data (a ``released`` row of the disclosure log, art. 3),
  and only while its protocol is in force at the change (art. 11) — under an ended or
  not-in-force protocol only removals (``REMOVALS``: art. 11, last paragraph, the retention
  and destruction duties go on). A client that never received the pupil hears nothing (art. 4).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, text, update
from sqlalchemy.orm import Session

from leerid.idp.oauth.rfc8417 import SigningKey, event_type, new_jti, set_claims, sign_set
from leerid.idp.store.endings import ProtocolEnding, RecordedEnding, find_ending
from leerid.idp.store.events import (
    PENDING,
    PUBLISHER,
    EventClient,
    EventCursor,
    SecurityEvent,
)
from leerid.idp.store.models import Disclosure, IdpClient
from leerid.idp.store.protocols import StoredProtocol, bound_version, protocol_versions
from leerid.idp.store.signatures import judged_signatures
from leerid.idp.store.tlog.append import append_entries, fail_closed, pupil_secret
from leerid.protocol.lifecycle import in_force_from, status
from leerid.registry.changes import (
    REMOVALS,
    Change,
    ChangeKind,
    DovChange,
    feed_lock_sql,
    record_change,
)
from leerid.transparency.entries import LogEntry, event_entry

__all__ = ["Published", "is_behind", "publish", "welcome_client"]

BATCH = 500
"""Changes per publishing transaction (each may fan out to several clients)."""


@dataclass(frozen=True)
class Published:
    """What one run of the publisher did."""

    changes: int
    sets: int
    busy: bool = False
    """PostgreSQL: another transaction held the feed (nothing was done; try again)."""


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _in_force(protocol: StoredProtocol | None, at: dt.datetime) -> bool:
    start = None if protocol is None else in_force_from(protocol.protocol)
    if protocol is None or start is None or start > at:
        return False
    return status(protocol.protocol, at).value == "in_force"


def welcome_client(session: Session, client_id: str, protocol_id: str, now: dt.datetime) -> bool:
    """Art. 11: record the version ``client_id`` is bound to as a change addressed to it (if
    one is in force) and note the client as told; False when it was told already."""
    if session.get(EventClient, client_id) is not None:
        return False
    session.add(EventClient(client_id=client_id, welcomed_at=now))
    bound = bound_version(session, protocol_id, now)
    if bound is not None and _in_force(bound, now):
        payload = {"protocol_id": protocol_id, "version": bound.version}
        record_change(
            session,
            Change(ChangeKind.PROTOCOL_VERSION_IN_FORCE, client_id=client_id, payload=payload),
        )
    session.flush()
    return True


def _welcome_all(session: Session, now: dt.datetime) -> None:
    """Clients registered before the feed (or by another path) learn their version first."""
    told = select(EventClient.client_id)
    rows = session.execute(
        select(IdpClient.client_id, IdpClient.protocol_id).where(
            IdpClient.disabled_at.is_(None), IdpClient.client_id.not_in(told)
        )
    ).all()
    for client_id, protocol_id in rows:
        welcome_client(session, client_id, protocol_id, now)


def is_behind(conn: Connection) -> bool:
    """A cheap check (three indexed reads, on a connection: a new ORM session costs more than
    the reads): is there a change or a client to publish for?"""
    cursor = conn.scalar(select(EventCursor.last_change_id).where(EventCursor.name == PUBLISHER))
    newest = conn.scalar(select(func.max(DovChange.id)))
    if newest is not None and newest > (cursor or 0):
        return True
    untold = select(IdpClient.client_id).where(
        IdpClient.disabled_at.is_(None),
        IdpClient.client_id.not_in(select(EventClient.client_id)),
    )
    return bool(conn.scalar(select(func.count()).select_from(untold.subquery())))


def _lock(session: Session, wait: bool, now: dt.datetime) -> int | None:
    """Take the feed and the cursor row; the cursor, or None when busy (``wait`` False)."""
    if session.get_bind().dialect.name == "postgresql":
        sql = "pg_advisory_xact_lock" if wait else "pg_try_advisory_xact_lock"
        got = session.execute(text(feed_lock_sql(sql))).scalar()
        if not wait and not got:
            return None
    # The UPDATE locks the row (PostgreSQL) or the database (SQLite) until the commit.
    done = session.execute(
        update(EventCursor).where(EventCursor.name == PUBLISHER).values(updated_at=now)
    )
    if not getattr(done, "rowcount", 0):
        session.add(EventCursor(name=PUBLISHER, last_change_id=0, updated_at=now))
        session.flush()
    cursor = session.scalar(select(EventCursor.last_change_id).where(EventCursor.name == PUBLISHER))
    return int(cursor or 0)


class _FanOut:
    """The recipients and event bodies of changes, with what they need read once per run."""

    def __init__(self, session: Session) -> None:
        self.session = session
        active = select(IdpClient.client_id, IdpClient.protocol_id).where(
            IdpClient.disabled_at.is_(None)
        )
        self.clients: dict[str, str] = {c: p for c, p in session.execute(active)}
        self._bound: dict[str, tuple[StoredProtocol | None, RecordedEnding | None]] = {}
        self._disclosed: tuple[dict[str, set[str]], dict[str, set[str]]] = ({}, {})
        """Leer_id_uuid, Account_uuid -> the clients it was released to (``read_disclosures``)."""

    def _binding(self, protocol_id: str) -> tuple[StoredProtocol | None, RecordedEnding | None]:
        if protocol_id not in self._bound:
            now = dt.datetime.now(dt.UTC)
            self._bound[protocol_id] = (
                bound_version(self.session, protocol_id, now),
                find_ending(self.session, protocol_id),
            )
        return self._bound[protocol_id]

    def bound_in_force(self, protocol_id: str, at: dt.datetime) -> bool:
        """Art. 11: the client's protocol is in force at ``at`` and not ended by then."""
        bound, ending = self._binding(protocol_id)
        return _in_force(bound, at) and (ending is None or at < ending.effective_at)

    def recipients(self, row: DovChange) -> list[str]:
        if row.client_id is not None:
            return [row.client_id] if row.client_id in self.clients else []
        if row.protocol_id is not None:
            return sorted(c for c, p in self.clients.items() if p == row.protocol_id)
        received = self._received(row)
        at = _aware(row.at)
        removal = ChangeKind(row.kind) in REMOVALS
        return sorted(
            c
            for c in received
            if c in self.clients and (removal or self.bound_in_force(self.clients[c], at))
        )

    def keys(self, row: DovChange) -> tuple[set[str], list[str]]:
        """The pupil's Leer_id_uuids (for a merge both pupils) and Account_uuids."""
        leer_ids = {row.leer_id_uuid} if row.leer_id_uuid else set()
        if row.kind == ChangeKind.PUPILS_MERGED.value:
            payload = json.loads(row.payload)
            leer_ids |= {payload.get("kept_leer_id_uuid"), payload.get("absorbed_leer_id_uuid")}
        leer_ids.discard(None)
        return leer_ids, json.loads(row.account_uuids)

    def read_disclosures(self, rows: list[DovChange]) -> None:
        """Art. 3: who received the pupils of ``rows`` (one query per key column for the
        whole batch instead of one per change)."""
        wanted: tuple[set[str], set[str]] = (set(), set())
        for row in rows:
            if row.client_id is None and row.protocol_id is None:
                leer_ids, accounts = self.keys(row)
                wanted[0].update(leer_ids)
                wanted[1].update(accounts)
        columns = (Disclosure.leer_id_uuid, Disclosure.account_uuid)
        for column, keys, seen in zip(columns, wanted, self._disclosed, strict=True):
            ordered = sorted(keys)
            for start in range(0, len(ordered), 500):
                # the outcome is checked here, not in SQL: SQLite would then pick the index on
                # outcome and read every released row instead of the keys' index
                stmt = (
                    select(column, Disclosure.client_id, Disclosure.outcome)
                    .where(column.in_(ordered[start : start + 500]))
                    .distinct()
                )
                for key, client_id, outcome in self.session.execute(stmt):
                    if outcome == "released" and key is not None:
                        seen.setdefault(key, set()).add(client_id)

    def _received(self, row: DovChange) -> set[str]:
        """Art. 3: the clients the pupil's data was released to (the disclosure log)."""
        leer_ids, accounts = self.keys(row)
        found: set[str] = set()
        for keys, seen in zip((leer_ids, accounts), self._disclosed, strict=True):
            for key in keys:
                found |= seen.get(key, set())
        return found

    def event(self, row: DovChange) -> dict[str, Any]:
        """The event's body (common.md): the change's payload, a version's full record."""
        payload: dict[str, Any] = json.loads(row.payload)
        if row.kind == ChangeKind.PROTOCOL_VERSION_IN_FORCE.value:
            return self._version(str(payload["protocol_id"]), int(payload["version"]))
        return payload

    def _version(self, protocol_id: str, version: int) -> dict[str, Any]:
        """Art. 11: the version, its hash, the recorded valid signatures and its text."""
        stored = {v.version: v for v in protocol_versions(self.session, protocol_id)}[version]
        judged = judged_signatures(self.session, protocol_id, {version: stored.content_hash})
        signed = [j for j in judged if j.version == version and j.verdict.valid]
        bound, _ = self._binding(protocol_id)
        start = in_force_from(bound.protocol) if bound and bound.version == version else None
        if start is None and signed:
            start = max(j.effective for j in signed)
        return {
            "protocol_id": protocol_id,
            "version": version,
            "content_sha256": stored.content_hash,
            "in_force_from": None if start is None else start.isoformat(),
            "signatures": [
                {
                    "party": j.party,
                    "signer": j.signer or j.operator,
                    "kind": j.kind,
                    "signed_at": j.effective.isoformat(),
                }
                for j in signed
            ],
            "text": stored.source_text,
        }


def _subject(row: DovChange) -> str | None:
    accounts = json.loads(row.account_uuids)
    return row.leer_id_uuid or (accounts[0] if accounts else None)


def _logged(
    fan: _FanOut, row: DovChange, client_id: str, jti: str, now: dt.datetime, secret: bytes
) -> LogEntry:
    """Issue 12 §1: the log entry of one SET: the pupils it names (every Leer_id_uuid and
    Account_uuid of the change) as pseudonyms keyed with ``secret``."""
    leer_ids, accounts = fan.keys(row)
    return event_entry(
        at=now,
        client_id=client_id,
        event=event_type(row.kind),
        jti=jti,
        protocol_id=fan.clients[client_id],
        pupil_secret=secret,
        pupil_identifiers=[*leer_ids, *accounts],
    )


def _sets(
    fan: _FanOut,
    rows: list[DovChange],
    key: SigningKey,
    issuer: str,
    now: dt.datetime,
    secret: bytes,
) -> tuple[list[dict[str, Any]], list[LogEntry]]:
    """The outbox rows of ``rows`` (one signed SET per recipient) and their log entries."""
    values: list[dict[str, Any]] = []
    entries: list[LogEntry] = []
    iat = int(now.timestamp())
    for row in rows:
        recipients = fan.recipients(row)
        if not recipients:
            continue
        event = fan.event(row)
        for client_id in recipients:
            jti = new_jti()
            claims = set_claims(
                issuer=issuer,
                client_id=client_id,
                jti=jti,
                txn=row.id,
                toe=int(_aware(row.at).timestamp()),
                iat=iat,
                kind=row.kind,
                event=event,
                subject=_subject(row),
            )
            values.append(
                {
                    "client_id": client_id,
                    "jti": jti,
                    "change_id": row.id,
                    "event_type": event_type(row.kind),
                    "jws": sign_set(key, claims),
                    "kid": key.kid,  # the key stays published until this SET is answered
                    "state": PENDING,
                    "created_at": now,
                }
            )
            entries.append(_logged(fan, row, client_id, jti, now, secret))
    return values, entries


def publish(
    engine: Engine,
    signing_key: Callable[[], SigningKey],
    issuer: str,
    *,
    limit: int = BATCH,
    wait: bool = True,
) -> Published:
    """Publish up to ``limit`` changes after the cursor, in one transaction."""
    now = dt.datetime.now(dt.UTC)
    key = signing_key()  # read before the transaction (the key ring has its own connection)
    secret = pupil_secret(engine)  # likewise: the first reader creates it
    with Session(engine) as session, session.begin():
        cursor = _lock(session, wait, now)
        if cursor is None:
            return Published(0, 0, busy=True)
        _welcome_all(session, now)
        rows = list(
            session.scalars(
                select(DovChange).where(DovChange.id > cursor).order_by(DovChange.id).limit(limit)
            )
        )
        if not rows:
            return Published(0, 0)
        fan = _FanOut(session)
        fan.read_disclosures(rows)
        values, entries = _sets(fan, rows, key, issuer, now, secret)
        if values:
            session.execute(insert(SecurityEvent), values)
            with fail_closed("the publication of security events"):
                append_entries(session.connection(), entries)
        ended = [r.protocol_id for r in rows if r.kind == ChangeKind.PROTOCOL_ENDED.value]
        if ended:  # art. 8: the notice is sent (published for the recipient to fetch)
            session.execute(
                update(ProtocolEnding)
                .where(ProtocolEnding.protocol_id.in_(ended), ProtocolEnding.notified_at.is_(None))
                .values(notified_at=now)
            )
        session.execute(
            update(EventCursor)
            .where(EventCursor.name == PUBLISHER)
            .values(last_change_id=rows[-1].id, updated_at=now)
        )
    return Published(len(rows), len(values))
