"""RFC 7636 (PKCE): only ``S256``; ``plain`` is refused (issue 4 §2)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

__all__ = ["CHALLENGE_METHODS", "s256", "valid_challenge", "verify_s256"]

CHALLENGE_METHODS = ("S256",)
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
"""RFC 7636 §4.1: code_verifier = 43*128unreserved."""
_CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")
"""RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is 43 characters without padding."""


def s256(verifier: str) -> str:
    """RFC 7636 §4.2: code_challenge = BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def valid_challenge(challenge: str) -> bool:
    """Whether ``challenge`` has the shape of an S256 challenge."""
    return bool(_CHALLENGE.match(challenge))


def verify_s256(verifier: str | None, challenge: str) -> bool:
    """RFC 7636 §4.6: the verifier hashes to the stored challenge (constant-time)."""
    if verifier is None or not _VERIFIER.match(verifier):
        return False
    return hmac.compare_digest(s256(verifier), challenge)
