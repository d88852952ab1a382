"""The provider's own keys: the session key, the log-signing key, the witness key, the
client's JWT key.

The session key encrypts the portal's cookies; the Ed25519 key signs records of pruned
privacy-log entries (art. 6, log management); a second Ed25519 key cosigns the checkpoints of
DOV's transparency log (issue 12 §3; C2SP tlog-cosignature: a cosigner has a key of its own,
used for nothing else); the RSA key authenticates the client at the identity provider
(``private_key_jwt``, RFC 7523 section 2.2).
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
    witness_key: Ed25519PrivateKey
    """C2SP tlog-cosignature: the key that cosigns DOV's log checkpoints, and only those."""

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


def _raw(key: Ed25519PrivateKey) -> str:
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return base64.urlsafe_b64encode(raw).decode()


def _write_new(path: Path, data: dict[str, str]) -> None:
    """Write ``data`` to ``path`` (mode 0600) through a new file moved into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = path.with_name(path.name + ".new")
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    os.replace(fresh, path)


def load_or_create_secrets(path: Path) -> ProviderSecrets:
    """The secrets in ``path``; created (mode 0600) on first use. A file written before the
    witness key existed gets one added (the other secrets unchanged)."""
    if not path.exists():
        _write_new(
            path,
            {
                "session_key": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
                "log_signing_key": _raw(Ed25519PrivateKey.generate()),
                "witness_key": _raw(Ed25519PrivateKey.generate()),
            },
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if "witness_key" not in data:
            data["witness_key"] = _raw(Ed25519PrivateKey.generate())
            _write_new(path, data)
        session_key = base64.urlsafe_b64decode(data["session_key"])
        signing, witness = (
            Ed25519PrivateKey.from_private_bytes(base64.urlsafe_b64decode(data[name]))
            for name in ("log_signing_key", "witness_key")
        )
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigurationError(
            f"{path}: the provider's secret file is unreadable or damaged ({exc}); restore it "
            "from backup (a new one would invalidate sessions, prune signatures and the "
            "witness key DOV registered)"
        ) from None
    if len(session_key) != 32:
        raise ConfigurationError(f"{path}: session_key must be 32 bytes (base64url)")
    return ProviderSecrets(session_key=session_key, signing_key=signing, witness_key=witness)


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
