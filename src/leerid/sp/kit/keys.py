"""The provider's own keys: the session key, the log-signing key, the client's JWT key.

The session key encrypts the portal's cookies; the Ed25519 key signs records of pruned
privacy-log entries (art. 6, log management); the RSA key authenticates the client at the
identity provider (``private_key_jwt``, RFC 7523 section 2.2).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from joserfc.jwk import RSAKey

from leerid.errors import ConfigurationError


@dataclass(frozen=True)
class ProviderSecrets:
    session_key: bytes
    signing_key: Ed25519PrivateKey

    def sign(self, message: bytes) -> str:
        return base64.urlsafe_b64encode(self.signing_key.sign(message)).decode()

    def public_key_text(self) -> str:
        raw = self.signing_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return base64.urlsafe_b64encode(raw).decode()

    def verify(self, message: bytes, signature: str) -> bool:
        public: Ed25519PublicKey = self.signing_key.public_key()
        try:
            public.verify(base64.urlsafe_b64decode(signature.encode()), message)
        except (InvalidSignature, ValueError):
            return False
        return True


def load_or_create_secrets(path: Path) -> ProviderSecrets:
    """The secrets in ``path``; created (mode 0600) on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        raw = key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        data = {
            "session_key": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            "log_signing_key": base64.urlsafe_b64encode(raw).decode(),
        }
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        session_key = base64.urlsafe_b64decode(data["session_key"])
        signing = Ed25519PrivateKey.from_private_bytes(
            base64.urlsafe_b64decode(data["log_signing_key"])
        )
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigurationError(
            f"{path}: the provider's secret file is unreadable or damaged ({exc}); restore it "
            "from backup (a new one would invalidate sessions and prune signatures)"
        ) from None
    if len(session_key) != 32:
        raise ConfigurationError(f"{path}: session_key must be 32 bytes (base64url)")
    return ProviderSecrets(session_key=session_key, signing_key=signing)


def generate_client_key(private_path: Path, public_path: Path) -> str:
    """Write a new RS256 client key (private JWK, mode 0600) and its public JWKS; return kid."""
    kid = secrets.token_hex(8)
    key = RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})
    private_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(key.as_dict(private=True), fh)
    public_path.write_text(json.dumps({"keys": [key.as_dict(private=False)]}), encoding="utf-8")
    return kid


def load_client_key(path: Path) -> RSAKey:
    """The client's private JWK (RSA) for ``private_key_jwt``."""
    try:
        return RSAKey.import_key(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"{path}: cannot read the client's private key ({exc}); create one with "
            "`leerid sp keygen --out DIR` and register its public JWKS with the provider"
        ) from None
