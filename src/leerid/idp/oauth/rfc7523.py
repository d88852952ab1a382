"""RFC 7523 §2.2 and §3: client authentication with a signed JWT (``private_key_jwt``).

Checks, in order: an allowed algorithm (RS256, PS256, ES256 — never ``none`` or HMAC); a
signature by a key of the client's registered key set (``--jwks`` or ``--jwks-uri``, refetched
once on an unknown ``kid``); ``iss`` = ``sub`` = client id; ``aud`` the issuer or the token
endpoint (ACM clients put the issuer); ``exp`` in the future and at most 5 minutes ahead;
``jti`` used only once (kept until the assertion expires, in the database: all nodes).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import time
from typing import Any

import httpx
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import Engine, delete, insert
from sqlalchemy.exc import IntegrityError

from leerid.idp.oauth.errors import OAuthError
from leerid.idp.store.clients import Client
from leerid.idp.store.models import IdpAssertionJti

__all__ = [
    "ASSERTION_ALGORITHMS",
    "ASSERTION_TYPE",
    "JwksFetcher",
    "unverified_parts",
    "verify_client_assertion",
]

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGORITHMS = ["RS256", "PS256", "ES256"]
MAX_LIFETIME = 300
"""Issue 4 §2: ``exp`` at most 5 minutes ahead."""
LEEWAY = 30
MIN_REFETCH = 10
"""Seconds between two fetches of one ``jwks_uri`` for an unknown ``kid``."""


class JwksFetcher:
    """Key sets of clients registered with ``--jwks-uri``, cached for five minutes."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def get(self, uri: str, *, refresh: bool = False) -> dict[str, Any]:
        """The key set at ``uri`` (refetched when ``refresh`` or older than five minutes)."""
        entry = self._cache.get(uri)
        age = time.monotonic() - entry[0] if entry is not None else None
        if entry is not None and age is not None and age < (MIN_REFETCH if refresh else 300):
            # An unknown kid is chosen by whoever sends the assertion: without a minimum
            # interval every such request would make us fetch the client's key set again.
            return entry[1]
        try:
            response = httpx.get(uri, timeout=5.0, follow_redirects=False)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError):
            raise OAuthError(
                "invalid_client", "the client's jwks_uri could not be fetched"
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
            raise OAuthError("invalid_client", "the client's jwks_uri is not a JSON key set")
        with self._lock:
            self._cache[uri] = (time.monotonic(), data)
        return data


def _key_set(client: Client, fetcher: JwksFetcher, kid: str | None) -> KeySet:
    if client.jwks is not None:
        return KeySet.import_key_set(client.jwks)  # type: ignore[arg-type]
    if client.jwks_uri is None:
        raise OAuthError("invalid_client", "the client has no registered keys")
    data = fetcher.get(client.jwks_uri)
    if kid is not None and all(k.get("kid") != kid for k in data["keys"]):
        data = fetcher.get(client.jwks_uri, refresh=True)  # keys rotated at the client
    return KeySet.import_key_set(data)  # type: ignore[arg-type]


def _remember_jti(engine: Engine, client_id: str, jti: str, exp: int) -> bool:
    """RFC 7523 §3 (7): a jti is accepted once; False when it was seen before."""
    key = hashlib.sha256(f"{client_id}\x00{jti}".encode()).hexdigest()
    now = dt.datetime.now(dt.UTC)
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(IdpAssertionJti).values(
                    key=key, expires_at=dt.datetime.fromtimestamp(exp + LEEWAY, dt.UTC)
                )
            )
    except IntegrityError:
        return False
    if hash(key) % 64 == 0:  # now and then, forget the expired ones
        with engine.begin() as conn:
            conn.execute(delete(IdpAssertionJti).where(IdpAssertionJti.expires_at < now))
    return True


def unverified_parts(assertion: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a JWT *before* its signature is checked (to find the key)."""
    try:
        obj = jws.extract_compact(assertion.encode())
        claims = json.loads(obj.payload)
    except (JoseError, ValueError, UnicodeDecodeError):
        raise OAuthError("invalid_client", "client_assertion is not a JWT") from None
    if not isinstance(claims, dict):
        raise OAuthError("invalid_client", "client_assertion is not a JWT")
    return dict(obj.protected), claims


def verify_client_assertion(
    engine: Engine,
    client: Client,
    assertion: str,
    audiences: tuple[str, ...],
    fetcher: JwksFetcher,
) -> None:
    """Raise ``OAuthError(invalid_client)`` unless ``assertion`` authenticates ``client``."""
    if len(assertion) > 8192:
        raise OAuthError("invalid_client", "client_assertion is too long")
    header = unverified_parts(assertion)[0]
    alg = header.get("alg")
    if alg not in ASSERTION_ALGORITHMS:
        raise OAuthError(
            "invalid_client",
            f"client_assertion alg must be one of {', '.join(ASSERTION_ALGORITHMS)}",
        )
    keys = _key_set(client, fetcher, header.get("kid"))
    try:
        token = jwt.decode(assertion, keys, algorithms=ASSERTION_ALGORITHMS)
    except (JoseError, ValueError):
        raise OAuthError("invalid_client", "client_assertion signature does not verify") from None
    claims = token.claims
    now = int(time.time())
    if claims.get("iss") != client.client_id or claims.get("sub") != client.client_id:
        raise OAuthError("invalid_client", "client_assertion iss and sub must be the client_id")
    aud = claims.get("aud")
    aud_list = aud if isinstance(aud, list) else [aud]
    if not any(a in audiences for a in aud_list):
        raise OAuthError(
            "invalid_client", "client_assertion aud must be the issuer or the token endpoint"
        )
    exp = claims.get("exp")
    if not isinstance(exp, int) or exp + LEEWAY < now:
        raise OAuthError("invalid_client", "client_assertion has expired (exp)")
    if exp > now + MAX_LIFETIME + LEEWAY:
        raise OAuthError("invalid_client", "client_assertion exp is more than 5 minutes ahead")
    nbf = claims.get("nbf")
    if isinstance(nbf, int) and nbf > now + LEEWAY:
        raise OAuthError("invalid_client", "client_assertion is not valid yet (nbf)")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise OAuthError("invalid_client", "client_assertion needs a jti")
    if not _remember_jti(engine, client.client_id, jti, exp):
        raise OAuthError("invalid_client", "client_assertion jti was used before")
