"""Attribute release: which claims a client bound to a protocol receives for a pupil.

The identity provider calls ``release_claims`` for every ID token and userinfo answer; it
returns only what the protocol lists (art. 3), only for the granted scopes, and nothing when
the protocol is not in force (art. 11).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from leerid.protocol.lifecycle import permits_disclosure
from leerid.protocol.model import AttributeKey, Claim, Protocol

SCOPE_CLAIMS: dict[str, tuple[Claim, ...]] = {
    "openid": (Claim.SUB,),
    "profile": (Claim.GIVEN_NAME, Claim.FAMILY_NAME),
    "ov_leerling": (
        Claim.OV_ACCOUNT_UUID,
        Claim.OV_LEERID_UUID,
        Claim.OV_HISTORIEK_ACCOUNT_UUID,
        Claim.OV_ORGCODE,
    ),
    "rrn": (Claim.RRN,),
}
"""The data scopes of ACM/IDM and LeerID and the claims each one carries."""

CLAIM_ATTRIBUTE: dict[Claim, AttributeKey] = {
    Claim.SUB: AttributeKey.ACCOUNT_UUID,
    Claim.GIVEN_NAME: AttributeKey.VOORNAAM,
    Claim.FAMILY_NAME: AttributeKey.NAAM,
    Claim.OV_ACCOUNT_UUID: AttributeKey.ACCOUNT_UUID,
    Claim.OV_LEERID_UUID: AttributeKey.LEER_ID_UUID,
    Claim.OV_HISTORIEK_ACCOUNT_UUID: AttributeKey.HISTORIEK_ACCOUNT_UUID,
    Claim.OV_ORGCODE: AttributeKey.INSTELLINGSNUMMER,
    Claim.RRN: AttributeKey.INSZ,
}
"""The attribute of art. 3 each claim discloses (``sub`` is the Account_uuid)."""


@dataclass(frozen=True)
class PupilClaims:
    """What LeerID knows of a pupil at login, before the protocol filters it."""

    account_uuid: str
    leer_id_uuid: str | None
    historiek_account_uuid: tuple[str, ...]
    instellingsnummers: tuple[str, ...]  # enrolments active today
    insz: str | None
    naam: str
    voornaam: str


def _insz_releasable(protocol: Protocol) -> bool:
    """Art. 3: the INSZ only when listed and the recipient has a decretal basis."""
    return AttributeKey.INSZ in protocol.attribute_keys and protocol.decretal_basis.present


def allowed_scopes(protocol: Protocol) -> frozenset[str]:
    """The data scopes a client bound to ``protocol`` may request (art. 3)."""
    keys = protocol.attribute_keys
    scopes = {"openid"}
    if keys & {AttributeKey.NAAM, AttributeKey.VOORNAAM}:
        scopes.add("profile")
    if keys & {
        AttributeKey.ACCOUNT_UUID,
        AttributeKey.LEER_ID_UUID,
        AttributeKey.HISTORIEK_ACCOUNT_UUID,
        AttributeKey.INSTELLINGSNUMMER,
    }:
        scopes.add("ov_leerling")
    if _insz_releasable(protocol):
        scopes.add("rrn")
    return frozenset(scopes)


def releasable_claims(protocol: Protocol, granted_scopes: Collection[str]) -> frozenset[Claim]:
    """The claims the protocol allows for ``granted_scopes``, whatever the pupil's data."""
    keys = protocol.attribute_keys
    claims: set[Claim] = set()
    for scope in allowed_scopes(protocol) & set(granted_scopes):
        for claim in SCOPE_CLAIMS[scope]:
            if CLAIM_ATTRIBUTE[claim] not in keys:
                continue
            if claim is Claim.RRN and not _insz_releasable(protocol):
                continue
            claims.add(claim)
    return frozenset(claims)


def release_claims(
    protocol: Protocol,
    granted_scopes: Collection[str],
    pupil: PupilClaims,
    at: dt.datetime,
) -> dict[str, object]:
    """Exactly the claims the protocol lists for the granted scopes; ``{}`` unless in force."""
    if not permits_disclosure(protocol, at):
        return {}  # Art. 11: no disclosure outside the protocol's time in force.
    claims = releasable_claims(protocol, granted_scopes)
    values: dict[Claim, object | None] = {
        Claim.SUB: pupil.account_uuid,
        Claim.GIVEN_NAME: pupil.voornaam,
        Claim.FAMILY_NAME: pupil.naam,
        Claim.OV_ACCOUNT_UUID: pupil.account_uuid,
        # Art. 3: Leer_id_uuid only for pupils identified by INSZ; absent otherwise.
        Claim.OV_LEERID_UUID: pupil.leer_id_uuid,
        Claim.OV_HISTORIEK_ACCOUNT_UUID: list(pupil.historiek_account_uuid),
        Claim.OV_ORGCODE: list(pupil.instellingsnummers),
        Claim.RRN: pupil.insz,
    }
    released: dict[str, object] = {}
    for claim in SCOPE_CLAIMS_ORDER:
        value = values[claim]
        if claim in claims and value is not None:
            released[claim.value] = value
    return released


SCOPE_CLAIMS_ORDER: tuple[Claim, ...] = tuple(c for cs in SCOPE_CLAIMS.values() for c in cs)
"""A stable order for the released claims (openid, profile, ov_leerling, rrn)."""


# Art. 5: disclosure without a login (refresh tokens) ---------------------------------------

OFFLINE_ACCESS = "offline_access"
"""OIDC Core §11: the scope that asks for a refresh token, i.e. data without a new login."""


def allows_disclosure_without_login(protocol: Protocol) -> bool:
    """Art. 5: whether the protocol allows disclosure without the pupil logging in.

    The seed requests the data "telkens de leerling inlogt": no. Absent in the file means no.
    """
    return protocol.communication.disclosure_without_login


def requestable_scopes(protocol: Protocol) -> frozenset[str]:
    """Every scope a client bound to ``protocol`` may request at the authorization endpoint.

    The data scopes of art. 3 (``allowed_scopes``), and ``offline_access`` only when art. 5
    allows disclosure without a login.
    """
    scopes = allowed_scopes(protocol)
    if allows_disclosure_without_login(protocol):
        return scopes | {OFFLINE_ACCESS}
    return scopes
