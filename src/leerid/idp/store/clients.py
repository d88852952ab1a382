"""The client registry: relying parties, each bound to one protocol id.

Client secrets are 256 bits from ``secrets``; only their SHA-256 is stored. A slow hash is
not needed for a secret of that strength (nobody can guess 2^256), and SHA-256 keeps client
authentication off the hot path's budget. Comparison is constant-time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, insert, select, update

from leerid.edge import is_clean
from leerid.errors import LeeridError, NotFoundError
from leerid.idp.oauth.profiles import (
    API_SCOPES,
    PROFILES,
    SUBJECT_TYPES,
    ClientProfile,
    profile_named,
)
from leerid.idp.store.keys import SIGNING_ALGORITHMS
from leerid.idp.store.models import IdpClient
from leerid.protocol.fields import enterprise_number

__all__ = [
    "AUTH_METHODS",
    "Client",
    "ClientCache",
    "add_client",
    "disable_client",
    "get_client",
    "list_clients",
    "secret_matches",
]

AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")
"""Issue 4 §2: the client authentication methods of ACM/IDM."""


@dataclass(frozen=True)
class Client:
    """A registered client as the endpoints see it."""

    client_id: str
    name: str
    protocol_id: str
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]
    auth_method: str
    secret_hash: str | None
    jwks: dict[str, Any] | None
    jwks_uri: str | None
    id_token_alg: str
    created_at: dt.datetime
    disabled: bool
    kbo: str | None = None  # art. 4: the client's organisation, by KBO number
    profile: str = "strict"  # issue 14: ``leerid.idp.oauth.profiles``
    subject: str = "account_uuid"  # issue 14: what ``sub`` holds (``profiles.SUBJECT_TYPES``)
    api_scopes: tuple[str, ...] = API_SCOPES  # issue 14 §4: DOV APIs by client_credentials

    @property
    def rules(self) -> ClientProfile:
        """The profile's rules (issue 14)."""
        return profile_named(self.profile)

    def public_view(self) -> dict[str, Any]:
        """Everything but the secret's hash, for ``leerid clients show``."""
        return {
            "client_id": self.client_id,
            "name": self.name,
            "protocol_id": self.protocol_id,
            "redirect_uris": list(self.redirect_uris),
            "post_logout_redirect_uris": list(self.post_logout_redirect_uris),
            "token_endpoint_auth_method": self.auth_method,
            "jwks_uri": self.jwks_uri,
            "jwks": self.jwks,
            "id_token_signed_response_alg": self.id_token_alg,
            "created_at": self.created_at.isoformat(),
            "disabled": self.disabled,
            "kbo": self.kbo,
            "profile": self.profile,
            "relaxations": self.rules.relaxations(),
            "subject": self.subject,
            "api_scopes": list(self.api_scopes),
        }


def hash_secret(secret: str) -> str:
    """SHA-256 (hex) of a client secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(client: Client, presented: str) -> bool:
    """RFC 6749 §2.3.1: the presented secret is the client's (constant-time comparison)."""
    if client.secret_hash is None:
        return False
    return hmac.compare_digest(hash_secret(presented), client.secret_hash)


def _check_uri(uri: str, what: str) -> None:
    """RFC 6749 §3.1.2: absolute, no fragment; https except for loopback during development."""
    parts = urlsplit(uri)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.fragment:
        raise LeeridError(
            f"{what} {uri!r} is not an absolute http(s) URI without fragment "
            "(RFC 6749 §3.1.2); give one such as https://app.example/callback"
        )
    if parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise LeeridError(
            f"{what} {uri!r} uses http on a non-loopback host; use https (RFC 6749 §3.1.2.1)"
        )


def _row_to_client(row: Any) -> Client:
    created = row.created_at
    if created.tzinfo is None:
        created = created.replace(tzinfo=dt.UTC)
    return Client(
        client_id=row.client_id,
        name=row.name,
        protocol_id=row.protocol_id,
        redirect_uris=tuple(json.loads(row.redirect_uris)),
        post_logout_redirect_uris=tuple(json.loads(row.post_logout_redirect_uris)),
        auth_method=row.auth_method,
        secret_hash=row.secret_hash,
        jwks=json.loads(row.jwks) if row.jwks else None,
        jwks_uri=row.jwks_uri,
        id_token_alg=row.id_token_alg,
        created_at=created,
        disabled=row.disabled_at is not None,
        kbo=row.kbo,
        profile=row.profile,
        subject=row.subject,
        api_scopes=tuple(json.loads(row.api_scopes)),
    )


def _profile_choices(
    profile: str, subject: str | None, api_scopes: list[str] | None
) -> tuple[str, list[str]]:
    """Issue 14: the profile checked; ``sub`` opaque by default under ``acm`` (as ACM's
    PersoonsID), the account_uuid under ``strict``; every API scope unless some are given."""
    if profile not in PROFILES:
        raise LeeridError(f"--profile {profile!r} is not known; use one of {', '.join(PROFILES)}")
    subject = subject or ("opaque" if profile == "acm" else "account_uuid")
    if subject not in SUBJECT_TYPES:
        raise LeeridError(f"--sub {subject!r} is not known; use one of {', '.join(SUBJECT_TYPES)}")
    scopes = list(dict.fromkeys(api_scopes)) if api_scopes is not None else list(API_SCOPES)
    unknown = [s for s in scopes if s not in API_SCOPES]
    if unknown:
        raise LeeridError(
            f"--api-scope {unknown[0]!r} is not an API of DOV; use one of {', '.join(API_SCOPES)}"
        )
    return subject, scopes


def _secret_or_keys(
    auth_method: str, jwks: dict[str, Any] | None, jwks_uri: str | None
) -> str | None:
    """A new secret, or None for private_key_jwt once its keys (exactly one source) check out."""
    if auth_method != "private_key_jwt":
        if jwks is not None or jwks_uri is not None:
            raise LeeridError("--jwks and --jwks-uri go with --auth private_key_jwt only")
        return secrets.token_urlsafe(32)
    if (jwks is None) == (jwks_uri is None):
        raise LeeridError("private_key_jwt needs exactly one of --jwks FILE or --jwks-uri URL")
    if jwks is not None and not isinstance(jwks.get("keys"), list):
        raise LeeridError('the --jwks file must be a JSON key set: {"keys": [...]}')
    if jwks_uri is not None:
        _check_uri(jwks_uri, "--jwks-uri")
    return None


def _check_registration(
    auth_method: str,
    id_token_alg: str,
    redirect_uris: list[str],
    post_logout_redirect_uris: list[str],
    kbo: str | None,
) -> str | None:
    """The registration's method, algorithm and URIs checked; the KBO number normalised."""
    if auth_method not in AUTH_METHODS:
        raise LeeridError(
            f"--auth {auth_method!r} is not supported; use one of {', '.join(AUTH_METHODS)}"
        )
    if id_token_alg not in SIGNING_ALGORITHMS:
        raise LeeridError(
            f"--id-token-alg {id_token_alg!r} is not supported; use one of "
            f"{', '.join(SIGNING_ALGORITHMS)}"
        )
    if not redirect_uris:
        raise LeeridError("give at least one --redirect-uri")
    for uri in redirect_uris:
        _check_uri(uri, "--redirect-uri")
    for uri in post_logout_redirect_uris:
        _check_uri(uri, "--post-logout-redirect-uri")
    if kbo is not None:
        try:
            kbo = enterprise_number(kbo)
        except ValueError as exc:
            raise LeeridError(f"--kbo {kbo!r}: {exc}") from None
    return kbo


def add_client(
    engine: Engine,
    *,
    name: str,
    protocol_id: str,
    redirect_uris: list[str],
    post_logout_redirect_uris: list[str] | None = None,
    auth_method: str = "client_secret_basic",
    jwks: dict[str, Any] | None = None,
    jwks_uri: str | None = None,
    id_token_alg: str = "RS256",  # noqa: S107 (an algorithm name, not a password)
    client_id: str | None = None,
    kbo: str | None = None,
    profile: str = "strict",
    subject: str | None = None,
    api_scopes: list[str] | None = None,
) -> tuple[Client, str | None]:
    """Register a client; returns it and its secret (shown once; None for private_key_jwt).
    ``kbo``: the organisation's enterprise number (art. 4: which parties are LeerID service
    providers)."""
    kbo = _check_registration(
        auth_method, id_token_alg, redirect_uris, post_logout_redirect_uris or [], kbo
    )
    subject, scopes = _profile_choices(profile, subject, api_scopes)
    secret = _secret_or_keys(auth_method, jwks, jwks_uri)
    new_id = client_id or str(uuid.uuid4())
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(IdpClient).values(
                client_id=new_id,
                name=name,
                protocol_id=protocol_id,
                redirect_uris=json.dumps(list(redirect_uris)),
                post_logout_redirect_uris=json.dumps(list(post_logout_redirect_uris or [])),
                auth_method=auth_method,
                secret_hash=hash_secret(secret) if secret else None,
                jwks=json.dumps(jwks) if jwks is not None else None,
                jwks_uri=jwks_uri,
                id_token_alg=id_token_alg,
                created_at=now,
                disabled_at=None,
                kbo=kbo,
                profile=profile,
                subject=subject,
                api_scopes=json.dumps(scopes),
            )
        )
    return get_client(engine, new_id), secret


def get_client(engine: Engine, client_id: str) -> Client:
    """The client ``client_id``; NotFoundError when unknown."""
    with engine.connect() as conn:
        row = conn.execute(select(IdpClient).where(IdpClient.client_id == client_id)).first()
    if row is None:
        raise NotFoundError(f"no client {client_id!r}; `leerid clients list` shows the clients")
    return _row_to_client(row)


def list_clients(engine: Engine) -> list[Client]:
    """Every client, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(select(IdpClient).order_by(IdpClient.created_at)).all()
    return [_row_to_client(row) for row in rows]


def update_client(
    engine: Engine,
    client_id: str,
    *,
    profile: str | None = None,
    subject: str | None = None,
    api_scopes: list[str] | None = None,
) -> Client:
    """Change a client's profile, ``sub`` or API scopes (issue 14); what is not given stays
    (a new profile keeps the ``sub`` it had: changing ``sub`` changes every pupil's ``sub``
    at that client, so only an explicit ``subject`` does). The updated client."""
    current = get_client(engine, client_id)
    profile = profile or current.profile
    scopes = list(current.api_scopes) if api_scopes is None else api_scopes
    subject, scopes = _profile_choices(profile, subject or current.subject, scopes)
    with engine.begin() as conn:
        conn.execute(
            update(IdpClient)
            .where(IdpClient.client_id == client_id)
            .values(profile=profile, subject=subject, api_scopes=json.dumps(scopes))
        )
    return get_client(engine, client_id)


def disable_client(engine: Engine, client_id: str) -> None:
    """Stop a client: no login, no token, no userinfo for it from now on (all nodes: seconds)."""
    with engine.begin() as conn:
        done = conn.execute(
            update(IdpClient)
            .where(IdpClient.client_id == client_id)
            .values(disabled_at=dt.datetime.now(dt.UTC))
        ).rowcount
    if not done:
        raise NotFoundError(f"no client {client_id!r}; `leerid clients list` shows the clients")


class ClientCache:
    """Clients by id, cached per process for a few seconds (a disable propagates quickly)."""

    def __init__(self, engine: Engine, cache_seconds: float) -> None:
        self._engine = engine
        self._cache_seconds = cache_seconds
        self._entries: dict[str, tuple[float, Client | None]] = {}
        self._lock = threading.Lock()

    def get(self, client_id: str) -> Client | None:
        """The enabled client ``client_id``, or None (unknown or disabled)."""
        if not client_id or not is_clean(client_id, 64):  # never a NUL to the database
            return None
        now = time.monotonic()
        entry = self._entries.get(client_id)
        if entry is None or now - entry[0] > self._cache_seconds:
            try:
                client: Client | None = get_client(self._engine, client_id)
            except NotFoundError:
                client = None
            with self._lock:
                if len(self._entries) > 10000:
                    self._entries.clear()
                self._entries[client_id] = (now, client)
            entry = (now, client)
        found = entry[1]
        return None if found is None or found.disabled else found
