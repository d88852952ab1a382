"""What ``sub`` holds for a client (OIDC Core §2, §8; issue 14 point 2: ``sub`` as ACM).

A client registered with subject type ``account_uuid`` gets the pupil's account_uuid in
``sub``, as before. One registered with ``opaque`` (the default under profile ``acm``) gets,
as ACM's PersoonsID, a stable identifier of 40 lowercase hex digits per account: the
HMAC-SHA-256 of the account_uuid under DOV's secret ``opaque-sub``, truncated to 160 bits.
It is the same for every opaque client (OIDC Core §8: the ``public`` subject type), never
the account_uuid, and nobody without the secret can compute it from the account_uuid or
find the account from it. ``ov_account_uuid`` carries the account either way.

Pure: the secret is read once per process by the store and passed in (``Subjects``).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from leerid.idp.oauth.profiles import SUBJECT_TYPES

__all__ = ["OPAQUE_SUB_LENGTH", "Subjects", "opaque_sub"]

OPAQUE_SUB_LENGTH = 40
"""Hex digits of an opaque ``sub`` (160 bits, the length of ACM's PersoonsID)."""

_LABEL = b"leerid opaque sub v1\x00"
"""Domain separation: the same secret could never give this value for another purpose."""


def opaque_sub(secret: bytes, account_uuid: str) -> str:
    """Issue 14 point 2: the opaque ``sub`` of ``account_uuid``, 40 lowercase hex digits."""
    mac = hmac.new(secret, _LABEL + account_uuid.encode("utf-8"), hashlib.sha256)
    return mac.hexdigest()[:OPAQUE_SUB_LENGTH]


@dataclass(frozen=True)
class Subjects:
    """The ``sub`` of an account for a client's subject type, under DOV's secret."""

    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) < 16:
            raise ValueError("the opaque sub's secret must have at least 128 bits")

    def sub(self, subject_type: str, account_uuid: str) -> str:
        """OIDC Core §2: the ``sub`` a client of ``subject_type`` knows ``account_uuid`` by."""
        if subject_type == "opaque":
            return opaque_sub(self.secret, account_uuid)
        if subject_type == "account_uuid":
            return account_uuid
        raise ValueError(f"subject type {subject_type!r} is not one of {SUBJECT_TYPES}")

    def names(self, subject_type: str, account_uuid: str, presented: str) -> bool:
        """Whether ``presented`` (the ``sub`` of an ID token we issued to a client of
        ``subject_type``) is ``account_uuid``'s sub (constant-time comparison)."""
        expected = self.sub(subject_type, account_uuid)
        return hmac.compare_digest(expected.encode(), presented.encode())
