"""DOV's transparency log over HTTP, as the witness reads it (issue 12, points 2 and 3).

``GET /op/v1/log/checkpoint`` (a C2SP signed note), ``/proof/consistency?first=&second=``
and ``/proof/inclusion?hash=&size=`` (RFC 9162 §2.1.3-2.1.4, hashes in base64url), and
``POST /op/v1/log/cosignature?size=S`` with our C2SP cosignature line (the form parameter
``cosignature``, client-authenticated as at the token endpoint). Each endpoint is read from
its discovery member (``leerid_log_checkpoint_endpoint``, …; OpenID Discovery §3 allows
extra members), else derived from the issuer (``{issuer}/v1/log/checkpoint``, …).

What DOV answers is only read here, never trusted: the witness verifies every note and
proof (``log_witness``, ``log_inclusion``). An answer DOV cannot give now (unreachable, 5xx)
is ``LogUnavailableError``: perhaps an outage, the witness alerts only when it lasts
(``[log] stale``). An answer DOV gives but that is no answer (4xx, not JSON, a malformed
hash, over the size limit) is ``LogRefusedError``, with what was wrong. Every answer is read
as it streams and given up past its limit (``MAX_NOTE``, ``MAX_ANSWER``).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import httpx

from leerid.errors import LeeridError
from leerid.sp.kit.public_answer import AnswerTooLargeError, PublicAnswer
from leerid.sp.kit.relying_party import RelyingParty

__all__ = [
    "Inclusion",
    "LogClient",
    "LogRefusedError",
    "LogUnavailableError",
    "b64url",
    "unb64url",
]

MAX_NOTE = 64 * 1024
"""Bytes of a checkpoint note at most (C2SP: a note is a few hundred bytes)."""
MAX_ANSWER = 256 * 1024
"""Bytes of a JSON answer at most (a proof is at most 64 hashes, an entry a few KB)."""


class LogUnavailableError(LeeridError):
    """DOV's log cannot answer now; the witness tries again next round."""


class LogRefusedError(LeeridError):
    """DOV refused a request of the witness (4xx) with this reason."""


def b64url(data: bytes) -> str:
    """Base64url without padding: every hash leerid writes outside a note."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    """The bytes of base64url text written with or without padding (``binascii.Error``)."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _unb64url(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise LogRefusedError(f"DOV's answer holds no base64url text for {what}")
    try:
        return unb64url(text)
    except (binascii.Error, ValueError):
        raise LogRefusedError(f"DOV's answer: {what} is not base64url") from None


def _hashes(values: Any, what: str) -> list[bytes]:
    if not isinstance(values, list):
        raise LogRefusedError(f"DOV's answer: {what} is not a list of hashes")
    return [_unb64url(v, what) for v in values]


@dataclass(frozen=True)
class Inclusion:
    """DOV's answer to an inclusion proof request, decoded (not yet verified)."""

    index: int
    size: int
    leaf_hash: bytes
    entry: bytes
    proof: list[bytes]


def _integer(data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise LogRefusedError(f"DOV's answer: {key} is not a whole number")
    return value


class LogClient:
    """The witness's view of DOV's log, through the kit's relying party (its HTTP client)."""

    def __init__(self, rp: RelyingParty) -> None:
        self.rp = rp

    async def _url(self, path: str) -> str:
        """The endpoint of ``path`` (e.g. ``/proof/inclusion``): discovery's, or derived."""
        meta = await self.rp.metadata()
        member = "leerid_log_" + path.strip("/").split("/")[-1] + "_endpoint"
        return str(meta.get(member) or f"{self.rp.settings.issuer}/v1/log{path}")

    async def _get(
        self, path: str, params: dict[str, str | int], limit: int = MAX_ANSWER
    ) -> PublicAnswer:
        url = await self._url(path)
        try:
            response = await self.rp.get_public(url, params, limit)
        except httpx.HTTPError as exc:
            raise LogUnavailableError(f"DOV's log at {url} cannot be reached ({exc})") from None
        except AnswerTooLargeError as exc:
            raise LogRefusedError(f"DOV's log: {exc.message}") from None
        if response.status_code >= 500:
            raise LogUnavailableError(f"DOV's log at {url} answered {response.status_code}")
        return response

    @staticmethod
    def _json(response: PublicAnswer) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise LogRefusedError(f"DOV's answer at {response.url} is not a JSON object")
        return data

    @classmethod
    def _refused(cls, response: PublicAnswer | httpx.Response) -> LogRefusedError:
        try:
            data = response.json()
            reason = str(data.get("error_description") or data.get("error") or "")
        except (ValueError, AttributeError):
            reason = response.text[:200]
        return LogRefusedError(f"DOV answered {response.status_code} at {response.url}: {reason}")

    async def checkpoint(self) -> str:
        """The newest checkpoint note, as DOV serves it (signatures not yet checked)."""
        response = await self._get("/checkpoint", {}, MAX_NOTE)
        if response.status_code != 200:
            raise self._refused(response)
        try:
            return response.body.decode("utf-8")
        except UnicodeDecodeError:
            raise LogRefusedError(f"DOV's checkpoint at {response.url} is not UTF-8") from None

    async def consistency(self, first: int, second: int) -> list[bytes]:
        """RFC 9162 §2.1.4: DOV's consistency proof between two tree sizes (unverified)."""
        response = await self._get("/proof/consistency", {"first": first, "second": second})
        if response.status_code != 200:
            raise self._refused(response)
        return _hashes(self._json(response).get("proof"), "proof")

    async def inclusion(self, leaf_hash: str, size: int) -> Inclusion | None:
        """RFC 9162 §2.1.3: DOV's inclusion proof of ``leaf_hash`` in the tree of ``size``
        (unverified); None when DOV says it has no such leaf in that tree (404)."""
        response = await self._get("/proof/inclusion", {"hash": leaf_hash, "size": size})
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._refused(response)
        data = self._json(response)
        return Inclusion(
            index=_integer(data, "index"),
            size=_integer(data, "size"),
            leaf_hash=_unb64url(data.get("leaf_hash"), "leaf_hash"),
            entry=_unb64url(data.get("entry"), "entry"),
            proof=_hashes(data.get("proof"), "proof"),
        )

    async def cosign(self, size: int, line: str) -> None:
        """C2SP tlog-cosignature: hand DOV our cosignature line for the checkpoint of
        ``size`` (client-authenticated); ``LogRefusedError`` with DOV's reason."""
        url = str(httpx.URL(await self._url("/cosignature"), params={"size": size}))
        try:  # a form: the client authenticates as at the token endpoint (private_key_jwt)
            response = await self.rp.post_authenticated(url, {"cosignature": line})
        except httpx.HTTPError as exc:
            raise LogUnavailableError(f"DOV's log at {url} cannot be reached ({exc})") from None
        if response.status_code >= 500:
            raise LogUnavailableError(f"DOV's log at {url} answered {response.status_code}")
        if response.status_code not in (200, 201, 204):
            raise self._refused(response)
