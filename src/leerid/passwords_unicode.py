"""Unicode normalisation of passwords, shared by the provider and the service-provider kit.

NIST SP 800-63B §5.1.1.2: passwords are normalised (NFKC) before hashing, so that "café"
typed as one code point or as "e" + combining accent is the same password. Neither idp/ nor
sp/ owns this rule, and sp/ never imports idp/, so it lives here.
"""

from __future__ import annotations

import unicodedata

__all__ = ["normalise_password", "password_forms"]


def normalise_password(password: str) -> str:
    """NIST SP 800-63B §5.1.1.2: the NFKC form of ``password``, the one that is hashed."""
    return unicodedata.normalize("NFKC", password)


def password_forms(password: str) -> tuple[str, ...]:
    """The forms to verify, in order: the normalised one, then the raw one only if it differs.

    A hash made before normalisation (issue 8 §9) holds the raw form; after it matches, the
    caller replaces it with the hash of the normalised form (the first of these).
    """
    normalised = normalise_password(password)
    return (normalised,) if normalised == password else (normalised, password)
