"""RFC 7636 (PKCE): ``S256``; ``plain`` only for clients of the ``acm`` profile (issue 14 §1;
issue 4 §2 refuses it under ``strict``). A plain challenge is kept as ``s256(challenge)``:
the verifier of a plain challenge is the challenge itself (§4.2), so ``verify_s256`` then
checks ``verifier == challenge`` by comparing their hashes in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

__all__ = ["CHALLENGE_METHODS", "s256", "valid_challenge", "valid_verifier", "verify_s256"]

CHALLENGE_METHODS = ("S256", "plain")
"""Every method of some profile (discovery); a client's own: ``ClientProfile.pkce_methods``."""
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


def valid_verifier(verifier: str) -> bool:
    """RFC 7636 §4.1: 43 to 128 unreserved characters (also the form of a plain challenge)."""
    return bool(_VERIFIER.match(verifier))


def verify_s256(verifier: str | None, challenge: str) -> bool:
    """RFC 7636 §4.6: the verifier hashes to the stored challenge (constant-time)."""
    if verifier is None or not _VERIFIER.match(verifier):
        return False
    return hmac.compare_digest(s256(verifier), challenge)
