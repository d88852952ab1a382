"""Art. 3 of the protocol: the attributes and the claims that carry them, the decretal basis
and the retention."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field, model_validator

from leerid.protocol.duration import Duration
from leerid.protocol.fields import ProtocolModel, Text

__all__ = [
    "ATTRIBUTE_CATEGORY",
    "ATTRIBUTE_CLAIM",
    "REQUIRED_CONDITIONS",
    "Attribute",
    "AttributeKey",
    "Category",
    "Claim",
    "Condition",
    "DataSection",
    "DecretalBasis",
    "NoEnrolment",
    "RequestKey",
    "Retention",
]


class AttributeKey(StrEnum):
    """The attributes LeerID can disclose (art. 3)."""

    INSZ = "insz"
    NAAM = "naam"
    VOORNAAM = "voornaam"
    LEER_ID_UUID = "leer_id_uuid"
    ACCOUNT_UUID = "account_uuid"
    HISTORIEK_ACCOUNT_UUID = "historiek_account_uuid"
    INSTELLINGSNUMMER = "instellingsnummer"


class Claim(StrEnum):
    """The token claims of ACM/IDM and LeerID that carry the attributes."""

    SUB = "sub"
    RRN = "rrn"
    FAMILY_NAME = "family_name"
    GIVEN_NAME = "given_name"
    OV_LEERID_UUID = "ov_leerid_uuid"
    OV_ACCOUNT_UUID = "ov_account_uuid"
    OV_HISTORIEK_ACCOUNT_UUID = "ov_historiek_account_uuid"
    OV_ORGCODE = "ov_orgcode"


class Category(StrEnum):
    """Art. 3: the three groups of the table."""

    OFFICIAL = "official"
    ACCOUNT = "account"
    ENROLMENT = "enrolment"


class Condition(StrEnum):
    """Art. 3: when an attribute is released at all."""

    DECRETAL_BASIS = "decretal_basis"  # INSZ: only when the recipient has a decretal basis
    IDENTIFIED_PUPIL = "identified_pupil"  # Leer_id_uuid: only for pupils identified by INSZ


ATTRIBUTE_CLAIM: dict[AttributeKey, Claim] = {
    AttributeKey.INSZ: Claim.RRN,
    AttributeKey.NAAM: Claim.FAMILY_NAME,
    AttributeKey.VOORNAAM: Claim.GIVEN_NAME,
    AttributeKey.LEER_ID_UUID: Claim.OV_LEERID_UUID,
    AttributeKey.ACCOUNT_UUID: Claim.OV_ACCOUNT_UUID,
    AttributeKey.HISTORIEK_ACCOUNT_UUID: Claim.OV_HISTORIEK_ACCOUNT_UUID,
    AttributeKey.INSTELLINGSNUMMER: Claim.OV_ORGCODE,
}
"""The claim that carries each attribute (ACM/IDM and LeerID names)."""

ATTRIBUTE_CATEGORY: dict[AttributeKey, Category] = {
    AttributeKey.INSZ: Category.OFFICIAL,
    AttributeKey.NAAM: Category.OFFICIAL,
    AttributeKey.VOORNAAM: Category.OFFICIAL,
    AttributeKey.LEER_ID_UUID: Category.ACCOUNT,
    AttributeKey.ACCOUNT_UUID: Category.ACCOUNT,
    AttributeKey.HISTORIEK_ACCOUNT_UUID: Category.ACCOUNT,
    AttributeKey.INSTELLINGSNUMMER: Category.ENROLMENT,
}

REQUIRED_CONDITIONS: dict[AttributeKey, Condition] = {
    AttributeKey.INSZ: Condition.DECRETAL_BASIS,
    AttributeKey.LEER_ID_UUID: Condition.IDENTIFIED_PUPIL,
}
"""Art. 3: conditions the text attaches to an attribute; the file must state them."""


class Attribute(ProtocolModel):
    """One row of the table of art. 3."""

    key: AttributeKey
    name: Text = Field(description="The name as the protocol writes it, e.g. 'Leer_id_uuid'.")
    category: Category
    claim: Claim = Field(description="The token claim that carries it.")
    description: Text = Field(description="The protocol's description and justification.")
    conditions: tuple[Condition, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Attribute:
        expected_claim = ATTRIBUTE_CLAIM[self.key]
        if self.claim != expected_claim:
            raise ValueError(
                f"attribute {self.key.value} is carried by claim {expected_claim.value!r}, "
                f"not {self.claim.value!r}; write claim: {expected_claim.value}"
            )
        expected_category = ATTRIBUTE_CATEGORY[self.key]
        if self.category != expected_category:
            raise ValueError(
                f"attribute {self.key.value} belongs to category {expected_category.value!r}; "
                f"write category: {expected_category.value}"
            )
        required = REQUIRED_CONDITIONS.get(self.key)
        if required is not None and required not in self.conditions:
            raise ValueError(
                f"art. 3 releases {self.key.value} only under condition {required.value!r}; "
                f"add {required.value} to its conditions"
            )
        return self


class DecretalBasis(ProtocolModel):
    """Art. 3: whether the recipient has a decretal basis for the INSZ, and which."""

    present: bool
    reference: str | None = Field(
        default=None, description="The decree and article giving the basis, when present."
    )
    note: str | None = None

    @model_validator(mode="after")
    def _reference_when_present(self) -> DecretalBasis:
        if self.present and not self.reference:
            raise ValueError(
                "a decretal basis needs its reference (decree and article); add reference: …"
            )
        return self


class RequestKey(StrEnum):
    """Art. 3: the keys by which the data is requested (through ACM)."""

    LEER_ID_UUID = "leer_id_uuid"
    ACCOUNT_UUID = "account_uuid"


class NoEnrolment(StrEnum):
    REFUSE_ACCESS = "refuse_access"


class Retention(ProtocolModel):
    """Art. 3: how long and what the recipient keeps, as values the service provider enforces."""

    period: Duration = Field(description="How long the disclosed data is kept (P3Y).")
    last_login_only: bool = Field(
        description="Only the data of the moment of the last login is kept."
    )
    inactive_account_deletion: Duration = Field(
        description="An inactive account is deleted after this period (P3Y)."
    )
    no_enrolment: NoEnrolment = Field(
        description="What happens to a pupil without an (active) enrolment."
    )
    text: tuple[Text, ...] = Field(min_length=1, description="The paragraph of art. 3.")


class DataSection(ProtocolModel):
    """Art. 3 as a whole: the table, its frame and the retention."""

    intro: tuple[Text, ...] = Field(min_length=1)
    special_categories: bool = Field(
        description="Whether GDPR art. 9 or 10 data is involved (the seed: no)."
    )
    special_categories_text: Text
    request_keys: tuple[RequestKey, ...] = Field(min_length=1)
    request_keys_text: Text
    attributes: tuple[Attribute, ...] = Field(min_length=1)
    necessity: Text = Field(description="Why the data is necessary (proportionality).")
    retention: Retention

    @model_validator(mode="after")
    def _consistent(self) -> DataSection:
        keys = [a.key for a in self.attributes]
        seen: set[AttributeKey] = set()
        for key in keys:
            if key in seen:
                raise ValueError(f"attribute {key.value} is listed twice; keep one row")
            seen.add(key)
        if AttributeKey.ACCOUNT_UUID not in seen:
            raise ValueError(
                "every protocol must list account_uuid: it is the key ACM requests data by "
                "(art. 3) and the OpenID 'sub' of every login (OIDC Core §2); add it"
            )
        for request_key in self.request_keys:
            if AttributeKey(request_key.value) not in seen:
                raise ValueError(
                    f"data is requested by {request_key.value} but that attribute is not "
                    "listed; list it or remove the request key"
                )
        if self.special_categories:
            raise ValueError(
                "LeerID discloses no GDPR art. 9/10 data; special_categories must be false"
            )
        return self
