"""A client's key set fetched from its ``jwks_uri`` (RFC 7523 private_key_jwt), cached."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from leerid.idp.oauth.errors import OAuthError
from leerid.idp.oauth.rfc7523 import MIN_REFETCH

__all__ = ["JwksFetcher"]


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
