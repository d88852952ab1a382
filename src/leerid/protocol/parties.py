"""The parties of the protocol, its legal frame, its signatures and art. 2 (legal basis and
purposes)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Literal

from pydantic import Field

from leerid.protocol.fields import (
    EnterpriseNumber,
    EstablishmentNumber,
    Moment,
    ProtocolModel,
    Text,
)

__all__ = [
    "DataProtectionOfficer",
    "LegalBasis",
    "LegalFrame",
    "Parties",
    "Party",
    "PartyRole",
    "Purposes",
    "Representative",
    "Signature",
]


class LegalFrame(ProtocolModel):
    """The legal frame the protocol is concluded under (decree of 18 July 2008, art. 8 §1)."""

    decree: Text = Field(description="The decree, e.g. 'decreet van 18 juli 2008 …'.")
    article: Text = Field(description="The article, e.g. 'artikel 8, §1'.")
    text: Text = Field(description="The sentence of the protocol stating the frame.")


class Representative(ProtocolModel):
    name: Text
    function: str | None = None
    organisation: str | None = None


class DataProtectionOfficer(ProtocolModel):
    """A party's DPO (art. 6 first measure) and the date of their advice (preamble F, G)."""

    advice_date: dt.date | None = Field(
        default=None, description="The date the DPO advised on the draft (preamble F/G)."
    )
    name: str | None = None
    contact: str | None = Field(
        default=None, description="E-mail or address; needed for the art. 30 register."
    )


class Party(ProtocolModel):
    """One party: who it is, who represents it, its KBO number, address and DPO."""

    short_name: Text = Field(description="How the text refers to the party, e.g. 'DOV'.")
    name: Text
    represented_by: Text = Field(description="The representation sentence of the protocol.")
    representatives: tuple[Representative, ...] = Field(min_length=1)
    enterprise_number: EnterpriseNumber
    establishment_number: EstablishmentNumber | None = None
    address: Text
    dpo: DataProtectionOfficer


class Parties(ProtocolModel):
    discloser: Party = Field(description="The party that discloses the data (DOV).")
    recipient: Party = Field(description="The party that receives it (the service provider).")


class PartyRole(StrEnum):
    DISCLOSER = "discloser"
    RECIPIENT = "recipient"


class Signature(ProtocolModel):
    """A signature placed on the protocol (art. 11: in force once both parties signed)."""

    party: PartyRole
    name: Text = Field(description="The signer as named under the signature block.")
    function: str | None = None
    certificate_name: str | None = Field(
        default=None, description="The name in the digital signature, when it differs."
    )
    signed_at: Moment
    reason: str | None = None


# --- art. 2: legal basis and purposes -----------------------------------------------------


class LegalBasis(ProtocolModel):
    """Art. 2: the ground of the recipient's processing (GDPR art. 6.1)."""

    gdpr_article: Literal["6.1.a", "6.1.b", "6.1.c", "6.1.d", "6.1.e", "6.1.f"]
    text: Text


class Purposes(ProtocolModel):
    """Art. 2, 1° and 2°: why each party processes the data."""

    discloser_lead: Text = Field(description="Art. 2, 1°: the sentence that opens it.")
    discloser: Text = Field(description="Art. 2, 1°: the original purposes of DOV.")
    recipient_lead: Text = Field(description="Art. 2, 2°: the sentence that opens it.")
    recipient: Text = Field(description="Art. 2, 2°: the purposes of the service provider.")
