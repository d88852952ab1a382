"""Signing keys: generated, rotated and published from the database, shared by every node.

Issue 4 §2: ID tokens are signed RS256 by default (ES256 or PS256 per client) with ``kid`` in
the header; ``leerid keys rotate`` publishes a new key; an old key stays in the key set until
every token it signed has expired (retired + ID token lifetime). Each process caches the keys
for a few seconds, so a rotation reaches every worker and node quickly.

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
from sqlalchemy import Connection, Engine, delete, func, insert, select, update

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
]


@dataclass(frozen=True)
class SigningKey:
    """A private key with its kid and whether it is the newest of its type."""

    kid: str
    kty: str
    key: RSAKey | ECKey
    created_at: dt.datetime
    retired_at: dt.datetime | None


def _generate(kty: str) -> RSAKey | ECKey:
    kid = secrets.token_urlsafe(12)
    if kty == "RSA":
        return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig"}, private=True)
    return ECKey.generate_key("P-256", parameters={"kid": kid, "use": "sig"}, private=True)


def _insert_new(engine: Engine, now: dt.datetime) -> list[str]:
    kids = []
    with engine.begin() as conn:
        for kty in ("RSA", "EC"):
            key = _generate(kty)
            kid = str(key.kid)
            conn.execute(
                insert(IdpSigningKey).values(
                    kid=kid,
                    kty=kty,
                    private_jwk=json.dumps(key.as_dict(private=True)),
                    created_at=now,
                    retired_at=None,
                )
            )
            kids.append(kid)
    return kids


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
    """What ``rotate_keys`` did: the new kids, the retired kids it deleted, and the retired
    kids past the cutoff it kept because they sign pending SETs (kid -> how many)."""

    new: list[str]
    removed: list[str]
    kept: dict[str, int]


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


def rotate_keys(engine: Engine, token_lifetime: int = 3600) -> Rotation:
    """Publish new RSA and EC keys; retire the current ones; drop keys nothing still needs.

    A retired key is published for ``token_lifetime`` seconds more (the last ID token it signed
    has expired by then), and after that while it signs a pending SET (see the module).
    """
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        conn.execute(
            update(IdpSigningKey).where(IdpSigningKey.retired_at.is_(None)).values(retired_at=now)
        )
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
    return Rotation(_insert_new(engine, now), gone, kept)


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
        self._jwks: dict[str, Any] = {"keys": []}

    def _load(self) -> None:
        now = dt.datetime.now(dt.UTC)
        cutoff = now - dt.timedelta(seconds=self._token_lifetime)
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(IdpSigningKey).order_by(IdpSigningKey.created_at.desc())
            ).all()
            late = [r.kid for r in rows if (t := _aware(r.retired_at)) is not None and t < cutoff]
            held = pending_sets_by_kid(conn, late)  # past the ID tokens, still signing SETs
        known = {k.kid: k.key for k in self._keys}
        keys: list[SigningKey] = []
        for row in rows:
            retired = _aware(row.retired_at)
            if retired is not None and retired < cutoff and row.kid not in held:
                continue
            key = known.get(row.kid)  # importing an RSA key costs tens of milliseconds
            if key is None:
                data = json.loads(row.private_jwk)
                key = RSAKey.import_key(data) if row.kty == "RSA" else ECKey.import_key(data)
            keys.append(SigningKey(row.kid, row.kty, key, _aware(row.created_at) or now, retired))
        self._keys = keys
        self._jwks = {"keys": [self._public(k) for k in keys]}
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
        """The newest key for ``alg`` (an algorithm of ``SIGNING_ALGORITHMS``)."""
        kty = SIGNING_ALGORITHMS[alg]
        for key in self._fresh():
            if key.kty == kty and key.retired_at is None:
                return key
        for key in self._fresh():  # rotation in progress on another node
            if key.kty == kty:
                return key
        raise LookupError(f"no {kty} signing key: run `leerid keys rotate`")

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

    def invalidate(self) -> None:
        """Reload on the next use."""
        self._loaded_at = -1e9
