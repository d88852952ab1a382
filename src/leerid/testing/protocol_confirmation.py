"""A service provider's protocol confirmed as the Department confirms it, without a provider.

``leerid sp serve`` and ``leerid sp sync`` learn the version both parties signed from the
Department's ``protocol-version-in-force`` event. A test (or a bench) that runs the kit
without an identity provider gives it the same event for its local file, whose signature
block the Department would attest (``attest_signature_block``), and applies it through the
kit's own path (``set_verify.check_claims`` and ``events_apply.apply_sets``): the text must
load to the announced hash and both parties' signatures must be listed, as in service.
Nothing here is a setting: a production kit has no way to skip the check.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from typing import Any

from leerid.protocol import content_hash, in_force_from, parse_protocol
from leerid.sp.kit.events_apply import Applied, apply_sets
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.set_verify import PROTOCOL_VERSION_IN_FORCE, Expected, check_claims

__all__ = ["apply_department_event", "confirm_local_protocol", "version_in_force_event"]


def version_in_force_event(text: str, version: int = 1) -> dict[str, Any]:
    """The ``protocol-version-in-force`` event for protocol ``text`` signed as its block says."""
    protocol = parse_protocol(text)
    start = in_force_from(protocol)
    if start is None:
        raise ValueError("the protocol's signature block lacks a party's signature")
    return {
        "protocol_id": protocol.id,
        "version": version,
        "content_sha256": content_hash(protocol),
        "in_force_from": start.isoformat(),
        "signatures": [
            {
                "party": s.party.value,
                "signer": s.name,
                "kind": "attestation",
                "signed_at": s.signed_at.isoformat(),
            }
            for s in protocol.signatures
        ],
        "text": text,
    }


def confirm_local_protocol(provider: ServiceProvider, version: int = 1) -> Applied:
    """Apply the Department's confirmation of ``provider``'s local protocol file."""
    assert provider.settings.protocol_file is not None
    event = version_in_force_event(provider.settings.protocol_file.read_text("utf-8"), version)
    return apply_department_event(provider, PROTOCOL_VERSION_IN_FORCE, event)


def apply_department_event(
    provider: ServiceProvider, event_type: str, event: dict[str, Any]
) -> Applied:
    """One event of the Department, its claims checked and applied as a sync applies it."""
    now = dt.datetime.now(dt.UTC)
    claims = {
        "iss": provider.settings.issuer,
        "aud": provider.settings.client_id,
        "iat": int(time.time()),
        "jti": secrets.token_hex(16),
        "txn": secrets.token_hex(8),
        "events": {event_type: event},
    }
    expected = Expected(
        provider.settings.issuer, provider.settings.client_id, now, dt.timedelta(days=90)
    )
    applied = apply_sets(provider.engine, [check_claims(claims, expected)])
    provider.forget_state()
    return applied
