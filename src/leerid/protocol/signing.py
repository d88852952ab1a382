"""Art. 11: a party's signature over one version's content hash, as a compact JWS (pure).

No I/O here: keys and tokens come in as values, verdicts go out. The allow-list of
algorithms is fixed (RS256, ES256, EdDSA), one per key type; ``none`` and every other
algorithm are refused before any key is used.

Order of checks in ``verify_signature`` (RFC 7515 §5.2, then the protocol's own):
1. the token is three base64url parts and its header is JSON (RFC 7515 §7.1);
2. the header's ``alg`` is on the allow-list and is the algorithm of the registered key
   (RFC 7515 §4.1.1; RFC 8725 §3.1: never ``none``);
3. the signature verifies with the registered key (RFC 7515 §5.2 step 8);
4. the payload names this protocol, version, content hash and party (art. 11: the
   signature binds the exact content);
5. the key had not expired at the moment of signature.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import warnings
from dataclasses import dataclass
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, JWKRegistry, OKPKey, RSAKey

from leerid.errors import LeeridError

ALGORITHMS = {("RSA", None): "RS256", ("EC", "P-256"): "ES256", ("OKP", "Ed25519"): "EdDSA"}
"""The allow-list: (kty, crv) -> the one algorithm signatures with that key may use."""

PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
PARTIES = ("discloser", "recipient")


class SigningKeyError(LeeridError):
    """A JWK that cannot be registered or used, with what to do."""


def algorithm_for(jwk: dict[str, Any]) -> str:
    """The one algorithm of the allow-list for ``jwk``, or a refusal a person can act on."""
    kty, crv = jwk.get("kty"), jwk.get("crv")
    alg = ALGORITHMS.get((str(kty), None if kty == "RSA" else str(crv)))
    if alg is None:
        raise SigningKeyError(
            f"key type kty={kty!r}"
            + (f", crv={crv!r}" if crv is not None else "")
            + " is not accepted; use an RSA key (RS256, at least 2048 bits), an EC key on "
            "P-256 (ES256) or an OKP key on Ed25519 (EdDSA)"
        )
    if "alg" in jwk and jwk["alg"] != alg:
        raise SigningKeyError(
            f"the JWK says alg={jwk['alg']!r}, but a {kty} key signs with {alg} here"
        )
    return alg


def public_jwk(jwk: dict[str, Any]) -> dict[str, Any]:
    """The public key to store: refused when the file holds private material."""
    private = [m for m in PRIVATE_MEMBERS if m in jwk]
    if private:
        raise SigningKeyError(
            f"the JWK holds private key material ({', '.join(private)}); register only the "
            "public half (the party keeps its private key to itself)"
        )
    algorithm_for(jwk)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a small RSA key is refused below, in words
            key = JWKRegistry.import_key(jwk)
    except (JoseError, ValueError, TypeError) as exc:
        raise SigningKeyError(f"the JWK cannot be read ({exc}); export it again as JSON") from None
    public = dict(key.as_dict(private=False))
    if isinstance(key, RSAKey):
        n = str(public["n"])
        bits = len(base64.urlsafe_b64decode(n + "=" * (-len(n) % 4))) * 8
        if bits < 2048:
            raise SigningKeyError(f"RSA key of {bits} bits; use at least 2048 bits")
    return public


def thumbprint(jwk: dict[str, Any]) -> str:
    """The key's RFC 7638 thumbprint (SHA-256, base64url): its ``kid`` here."""
    return str(JWKRegistry.import_key(jwk).thumbprint())


def signing_payload(
    protocol_id: str, version: int, digest: str, party: str, signer: str, signed_at: dt.datetime
) -> dict[str, Any]:
    """What a party signs (art. 11): the version's identity and its exact content hash."""
    return {
        "protocol_id": protocol_id,
        "version": version,
        "content_sha256": digest,
        "party": party,
        "signer": signer,
        "signed_at": signed_at.isoformat(),
    }


def sign(payload: dict[str, Any], private_jwk: dict[str, Any]) -> str:
    """A compact JWS of ``payload`` with the party's private key (alg from the key)."""
    alg = algorithm_for(private_jwk)
    try:
        key = JWKRegistry.import_key(private_jwk)
    except (JoseError, ValueError, TypeError) as exc:
        raise SigningKeyError(f"the private key cannot be read ({exc})") from None
    if not isinstance(key, RSAKey | ECKey | OKPKey) or not key.is_private:
        raise SigningKeyError("--key must be the party's private key (a JWK with its 'd' member)")
    body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    header = {"alg": alg, "kid": thumbprint(key.as_dict(private=False)), "typ": "leerid-sig+jwt"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joserfc flags EdDSA as superseded by RFC 9864
        return str(jws.serialize_compact(header, body, key, algorithms=[alg]))


@dataclass(frozen=True)
class Expected:
    """What the signature must say: the version it is recorded against and its key."""

    protocol_id: str
    version: int
    content_hash: str
    party: str
    key: dict[str, Any] | None  # the registered public JWK, None when unregistered
    key_expires: dt.datetime | None = None


@dataclass(frozen=True)
class Verdict:
    """``valid`` with ``reason`` 'ok', or not valid and why (words a person can act on)."""

    valid: bool
    reason: str
    signed_at: dt.datetime | None = None
    signer: str | None = None


def token_header(token: str) -> dict[str, Any]:
    """The JOSE header of a compact JWS (RFC 7515 §7.1), unverified."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a compact JWS (three base64url parts)")
    try:
        raw = base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4))
        header = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"header is not base64url JSON ({exc})") from None
    if not isinstance(header, dict):
        raise ValueError("header is not a JSON object")
    return header


def verify_signature(token: str, expected: Expected) -> Verdict:
    """The verdict on one recorded JWS (order of checks in the module docstring)."""
    try:
        header = token_header(token)
    except ValueError as exc:
        return Verdict(False, f"malformed token: {exc}")
    alg = header.get("alg")
    if alg not in ALGORITHMS.values():
        return Verdict(False, f"algorithm {alg!r} refused (allowed: RS256, ES256, EdDSA)")
    if expected.key is None:
        return Verdict(False, "signed by an unregistered key (leerid protocol keys add)")
    if alg != algorithm_for(expected.key):
        return Verdict(False, f"algorithm {alg} does not match the registered key")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = jws.deserialize_compact(token, JWKRegistry.import_key(expected.key), [alg])
        claims = json.loads(found.payload)
    except (JoseError, ValueError) as exc:
        return Verdict(False, f"bad signature ({type(exc).__name__})")
    return _check_claims(claims, expected)


def _check_claims(claims: Any, expected: Expected) -> Verdict:
    if not isinstance(claims, dict):
        return Verdict(False, "payload is not a JSON object")
    if claims.get("content_sha256") != expected.content_hash:
        return Verdict(False, f"signed another content hash ({claims.get('content_sha256')})")
    for name, want in (
        ("protocol_id", expected.protocol_id),
        ("version", expected.version),
        ("party", expected.party),
    ):
        if claims.get(name) != want:
            return Verdict(False, f"payload names {name} {claims.get(name)!r}, not {want!r}")
    try:
        signed_at = dt.datetime.fromisoformat(str(claims.get("signed_at")))
    except ValueError:
        return Verdict(False, "payload has no valid signed_at")
    if signed_at.tzinfo is None:
        return Verdict(False, "payload's signed_at has no UTC offset")
    if expected.key_expires is not None and signed_at >= expected.key_expires:
        return Verdict(False, f"key expired on {expected.key_expires.isoformat()}")
    return Verdict(True, "ok", signed_at, str(claims.get("signer", "")))
