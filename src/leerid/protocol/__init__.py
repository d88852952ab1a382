"""The protocol as code: the signed data-sharing protocol as a file both parties load.

Pure: no database, no HTTP. The identity provider asks ``release_claims`` what it may put in
a token; the service provider reads retention, roles and security measures from the model.
"""

from __future__ import annotations

from leerid.protocol.canonical import canonical_json, content_hash
from leerid.protocol.duration import IsoDuration
from leerid.protocol.lifecycle import (
    ProtocolStatus,
    in_force_from,
    permits_disclosure,
    status,
)
from leerid.protocol.loading import ProtocolError, load_protocol, parse_protocol
from leerid.protocol.model import (
    Attribute,
    AttributeKey,
    Claim,
    PartyRole,
    Protocol,
    RecipientRole,
    Retention,
    SecurityMeasure,
)
from leerid.protocol.release import (
    OFFLINE_ACCESS,
    SCOPE_CLAIMS,
    PupilClaims,
    allowed_scopes,
    allows_disclosure_without_login,
    release_claims,
    requestable_scopes,
)

__all__ = [
    "OFFLINE_ACCESS",
    "SCOPE_CLAIMS",
    "Attribute",
    "AttributeKey",
    "Claim",
    "IsoDuration",
    "PartyRole",
    "Protocol",
    "ProtocolError",
    "ProtocolStatus",
    "PupilClaims",
    "RecipientRole",
    "Retention",
    "SecurityMeasure",
    "allowed_scopes",
    "allows_disclosure_without_login",
    "canonical_json",
    "content_hash",
    "in_force_from",
    "load_protocol",
    "parse_protocol",
    "permits_disclosure",
    "release_claims",
    "requestable_scopes",
    "status",
]
