"""Signing keys: generated, rotated and published from the database, shared by every node.

Issue 4 §2: ID tokens are signed RS256 by default (ES256 or PS256 per client) with ``kid`` in
the header; an old key stays in the key set until every token it signed has expired (retired
+ ID token lifetime). Each process caches the keys for a few seconds.

Issue 14 §4, keys that rotate by themselves: a next key pair is published (in the key set)
``ahead`` seconds before it signs (``activates_at``), so that a client which cached the key
set (``Cache-Control: max-age``, 21500 s as ACM/IDM) already knows it when the first token
signed with it comes. Its predecessor gets ``retired_at`` = that same moment: it signs until
then, never after, and the next never before (``KeyRing.signing_key``). A key's life:
*next* (published, not signing), *signing*, *retired* (published, not signing), gone.
``rotate_keys`` with ``ahead`` 0 is the emergency rotation (a leaked key): new keys sign at
once. Every node may run ``rotate_keys``: it first locks the live keys (``FOR UPDATE``: row
locks on PostgreSQL, the write lock on SQLite, ``store/engine.py``), and does nothing while a
next key is already published, or, with ``period``, before the rotation is due; so a rotation
is done once, by one node.

Security Event Tokens (issue 10, point 3) are signed once, when published, and delivered until
the recipient acknowledges them, up to 90 days (RFC 8936 §2.4): far longer than an ID token
lives. So a retired key whose ``kid`` still signs a pending SET (``idp_security_event.kid``,
``state`` pending) is neither deleted by ``rotate_keys`` nor dropped from the published key
set; once its last such SET is acknowledged, rejected or purged, the next rotation deletes it.
Only keys past the ID token cutoff are checked: one indexed query (kid, state) for those few.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from joserfc.jwk import ECKey, RSAKey
from sqlalchemy import Connection, Engine, delete, func, insert, or_, select, update

from leerid.idp.oauth.id_token import SIGNING_ALGORITHMS
from leerid.idp.store.events import PENDING, SecurityEvent
from leerid.idp.store.models import IdpSigningKey

__all__ = [
    "SIGNING_ALGORITHMS",
    "KeyRing",
    "Rotation",
    "SigningKey",
    "ensure_keys",
    "pending_sets_by_kid",
    "rotate_keys",
    "signs_at",
]


@dataclass(frozen=True)
class SigningKey:
    """A private key with its kid and whether it is the newest of its type."""

    kid: str
    kty: str
    key: RSAKey | ECKey
    created_at: dt.datetime
    retired_at: dt.datetime | None
    activates_at: dt.datetime | None = None

    def signs_at(self, now: dt.datetime) -> bool:
        """Whether the key signs at ``now``: activated and not yet retired (issue 14 §4)."""
        return signs_at(self.activates_at, self.retired_at, now)


def signs_at(activates: dt.datetime | None, retired: dt.datetime | None, now: dt.datetime) -> bool:
    """Issue 14 §4: a key signs from ``activates`` (None: from its creation) until ``retired``."""
    return (activates is None or activates <= now) and (retired is None or now < retired)


def _generate(kty: str) -> RSAKey | ECKey:
    kid = secrets.token_urlsafe(12)
    if kty == "RSA":
        return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig"}, private=True)
    return ECKey.generate_key("P-256", parameters={"kid": kid, "use": "sig"}, private=True)


def _new_pair() -> list[RSAKey | ECKey]:
    """A new RSA and EC key (made before any transaction: RSA takes tens of milliseconds)."""
    return [_generate("RSA"), _generate("EC")]


def _insert(
    conn: Connection, pair: list[RSAKey | ECKey], now: dt.datetime, activates: dt.datetime
) -> list[str]:
    for key in pair:
        conn.execute(
            insert(IdpSigningKey).values(
                kid=str(key.kid),
                kty="RSA" if isinstance(key, RSAKey) else "EC",
                private_jwk=json.dumps(key.as_dict(private=True)),
                created_at=now,
                retired_at=None,
                activates_at=activates,
            )
        )
    return [str(key.kid) for key in pair]


def _insert_new(engine: Engine, now: dt.datetime) -> list[str]:
    with engine.begin() as conn:
        return _insert(conn, _new_pair(), now, now)


def ensure_keys(engine: Engine) -> None:
    """Create the first key pair (RSA and EC) when there is none."""
    with engine.connect() as conn:
        current = conn.execute(
            select(IdpSigningKey.kty).where(IdpSigningKey.retired_at.is_(None))
        ).scalars()
        kinds = set(current)
    if {"RSA", "EC"} <= kinds:
        return
    _insert_new(engine, dt.datetime.now(dt.UTC))


@dataclass(frozen=True)
class Rotation:
    """What ``rotate_keys`` did: the new kids and when they sign, the retired kids it deleted,
    and the retired kids past the cutoff it kept because they sign pending SETs (kid -> how
    many). No new kids: a next key was already published (``activates_at`` its moment), or,
    with a period, no rotation was due (``activates_at`` None)."""

    new: list[str]
    removed: list[str]
    kept: dict[str, int]
    activates_at: dt.datetime | None = None


def pending_sets_by_kid(conn: Connection, kids: list[str]) -> dict[str, int]:
    """How many pending SETs each of ``kids`` signed (kids that sign none are left out).

    Issue 10: a SET is delivered until acknowledged, up to 90 days (RFC 8936 §2.4), so the key
    that signed it must stay published that long. One query on the (kid, state) index."""
    if not kids:
        return {}
    ev = SecurityEvent
    rows = conn.execute(
        select(ev.kid, func.count()).where(ev.kid.in_(kids), ev.state == PENDING).group_by(ev.kid)
    )
    return {str(kid): int(count) for kid, count in rows}


class _NotNowError(Exception):
    """Another node rotated first: roll back, nothing to do."""

    def __init__(self, rotation: Rotation) -> None:
        self.rotation = rotation


def rotate_keys(
    engine: Engine,
    token_lifetime: int = 3600,
    ahead: float = 0,
    *,
    period: float | None = None,
    now: dt.datetime | None = None,
) -> Rotation:
    """Publish new RSA and EC keys that sign ``ahead`` seconds from now (0: at once, retiring
    every live key now); drop retired keys nothing still needs.

    With ``ahead`` > 0 nothing is made while a next key is published already (idempotent);
    with ``period`` (the scheduled rotation) nothing either before the signing key is
    ``period - ahead`` seconds old, and the new keys sign when it is ``period`` old (at the
    earliest ``ahead`` from now). A retired key is published for ``token_lifetime`` seconds
    more (the last ID token it signed has expired by then), and after that while it signs a
    pending SET (see the module).
    """
    if ahead > 0:  # a read first: the loop of every node looks often, and RSA keys cost
        with engine.connect() as conn:
            try:
                moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
                _next_moment(_live(conn, moment, lock=False), moment, ahead, period)
            except _NotNowError as nothing:
                return nothing.rotation
    pair = _new_pair()  # before the moment below: the moment the keys are published
    now = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    try:
        with engine.begin() as conn:
            live = _live(conn, now)
            activates = _next_moment(live, now, ahead, period)
            _retire_live(conn, now, activates, sum(r.retired_at is None for r in live))
            new = _insert(conn, pair, now, activates)
            removed, kept = _drop_late(conn, now, token_lifetime)
    except _NotNowError as nothing:
        return nothing.rotation
    return Rotation(new, removed, kept, activates)


def _live(conn: Connection, now: dt.datetime, *, lock: bool = True) -> list[Any]:
    """The keys that sign or will sign; with ``lock``, locked (``FOR UPDATE``) for this
    transaction."""
    k = IdpSigningKey
    query = select(k.kid, k.kty, k.created_at, k.activates_at, k.retired_at).where(
        or_(k.retired_at.is_(None), k.retired_at > now)
    )
    return list(conn.execute(query.with_for_update() if lock else query).all())


def _next_moment(
    live: list[Any], now: dt.datetime, ahead: float, period: float | None
) -> dt.datetime:
    """When the new keys sign; ``_NotNowError`` when a next key is published or none is due."""
    if ahead <= 0:
        return now
    scheduled = [
        m
        for r in live
        for m in (_aware(r.activates_at), _aware(r.retired_at))
        if m is not None and m > now
    ]
    if scheduled:  # a next key is published: it signs then (or its predecessor retires then)
        raise _NotNowError(Rotation([], [], {}, max(scheduled)))
    earliest = now + dt.timedelta(seconds=ahead)
    if period is None:
        return earliest
    starts = [_aware(r.activates_at) or _aware(r.created_at) or now for r in live]
    due = max(starts, default=now - dt.timedelta(seconds=period)) + dt.timedelta(seconds=period)
    if due - dt.timedelta(seconds=ahead) > now:
        raise _NotNowError(Rotation([], [], {}, None))
    return max(due, earliest)


def _retire_live(conn: Connection, now: dt.datetime, activates: dt.datetime, unretired: int) -> int:
    """The live keys retire when the new ones sign (a conditional write: when another node
    changed them meanwhile, ``unretired`` no longer matches and this node makes nothing)."""
    k = IdpSigningKey
    if activates <= now:  # emergency: every live key (a next one too) stops at once
        done = conn.execute(
            update(k).where(or_(k.retired_at.is_(None), k.retired_at > now)).values(retired_at=now)
        )
        return int(done.rowcount)
    done = conn.execute(update(k).where(k.retired_at.is_(None)).values(retired_at=activates))
    if done.rowcount != unretired:
        raise _NotNowError(Rotation([], [], {}, None))
    return int(done.rowcount)


def _drop_late(
    conn: Connection, now: dt.datetime, token_lifetime: int
) -> tuple[list[str], dict[str, int]]:
    """Delete retired keys past the ID tokens' lifetime that sign no pending SET."""
    cutoff = now - dt.timedelta(seconds=token_lifetime)
    late = list(
        conn.execute(
            select(IdpSigningKey.kid).where(
                IdpSigningKey.retired_at.is_not(None), IdpSigningKey.retired_at < cutoff
            )
        ).scalars()
    )
    kept = pending_sets_by_kid(conn, late)
    gone = [kid for kid in late if kid not in kept]
    if gone:
        conn.execute(delete(IdpSigningKey).where(IdpSigningKey.kid.in_(gone)))
    return gone, kept


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


class KeyRing:
    """The keys of the database, cached per process for ``cache_seconds``."""

    def __init__(self, engine: Engine, token_lifetime: int, cache_seconds: float) -> None:
        self._engine = engine
        self._token_lifetime = token_lifetime
        self._cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._loaded_at = -1e9
        self._keys: list[SigningKey] = []
        self._stored: list[SigningKey] = []  # the published ones and those not yet deleted
        self._jwks: dict[str, Any] = {"keys": []}
        self._hint_jwks: dict[str, Any] = {"keys": []}

    def _load(self) -> None:
        now = dt.datetime.now(dt.UTC)
        cutoff = now - dt.timedelta(seconds=self._token_lifetime)
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(IdpSigningKey).order_by(IdpSigningKey.created_at.desc())
            ).all()
            late = [r.kid for r in rows if (t := _aware(r.retired_at)) is not None and t < cutoff]
            held = pending_sets_by_kid(conn, late)  # past the ID tokens, still signing SETs
        known = {k.kid: k.key for k in self._stored}
        stored: list[SigningKey] = []
        for row in rows:
            key = known.get(row.kid)  # importing an RSA key costs tens of milliseconds
            if key is None:
                data = json.loads(row.private_jwk)
                key = RSAKey.import_key(data) if row.kty == "RSA" else ECKey.import_key(data)
            created, activates = _aware(row.created_at) or now, _aware(row.activates_at)
            stored.append(
                SigningKey(row.kid, row.kty, key, created, _aware(row.retired_at), activates)
            )
        keys = [
            k for k in stored if k.retired_at is None or k.retired_at >= cutoff or k.kid in held
        ]
        self._stored = stored
        self._keys = keys
        self._jwks = {"keys": [self._public(k) for k in keys]}
        self._hint_jwks = {"keys": [self._public(k) for k in stored]}
        self._loaded_at = time.monotonic()

    @staticmethod
    def _public(key: SigningKey) -> dict[str, Any]:
        public = dict(key.key.as_dict(private=False))
        public["use"] = "sig"
        public["kid"] = key.kid
        if key.kty == "EC":
            public["alg"] = "ES256"
        return public

    def _fresh(self) -> list[SigningKey]:
        if time.monotonic() - self._loaded_at > self._cache_seconds:
            with self._lock:
                if time.monotonic() - self._loaded_at > self._cache_seconds:
                    self._load()
        return self._keys

    def signing_key(self, alg: str) -> SigningKey:
        """The key that signs now for ``alg`` (an algorithm of ``SIGNING_ALGORITHMS``): never
        a next key before its ``activates_at`` (issue 14 §4)."""
        kty = SIGNING_ALGORITHMS[alg]
        now = dt.datetime.now(dt.UTC)
        keys = [k for k in self._fresh() if k.kty == kty]
        signing = [k for k in keys if k.signs_at(now)]
        if not signing:  # retired everywhere meanwhile (an emergency rotation on another node)
            self.invalidate()
            keys = [k for k in self._fresh() if k.kty == kty]
            signing = [k for k in keys if k.signs_at(now)]
        if not signing:  # rotation in progress: the newest key already active
            signing = [k for k in keys if k.activates_at is None or k.activates_at <= now]
        if not signing:
            raise LookupError(f"no {kty} signing key: run `leerid keys rotate --now`")
        return max(signing, key=lambda k: (k.activates_at or k.created_at, k.created_at))

    def by_kid(self, kid: str) -> SigningKey | None:
        """The published key with ``kid``, or None."""
        for key in self._fresh():
            if key.kid == kid:
                return key
        return None

    def jwks(self) -> dict[str, Any]:
        """The public key set (RFC 7517), as published at ``/op/v1/keys``."""
        self._fresh()
        return self._jwks

    def hint_jwks(self) -> dict[str, Any]:
        """Every stored key, published or not yet deleted (review of issue 14): a pupil who
        logged in before a rotation logs out hours later with an ID token of the old key."""
        self._fresh()
        return self._hint_jwks

    def invalidate(self) -> None:
        """Reload on the next use."""
        self._loaded_at = -1e9
