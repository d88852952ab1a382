"""The service provider's kit: a LeerID relying party that keeps the protocol's duties.

Talks to the identity provider over HTTP only (never imports ``leerid.idp`` or
``leerid.registry``) and keeps its own database. See docs/service-provider.md.
"""

from __future__ import annotations

from leerid.sp.kit.enrolment_gate import GateDecision, enrolment_gate
from leerid.sp.kit.login_claims import LoginAttributes, read_login
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.relying_party import LoginError, RelyingParty
from leerid.sp.kit.settings import SPSettings, load_settings

__all__ = [
    "GateDecision",
    "LoginAttributes",
    "LoginError",
    "RelyingParty",
    "SPSettings",
    "ServiceProvider",
    "enrolment_gate",
    "load_settings",
    "read_login",
]
