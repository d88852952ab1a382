"""The protocol file as a typed model: everything the signed protocol states, article by article.

Field names are English (they are read by code); the texts are the protocol's own words, in
Dutch. ``Protocol`` is immutable once loaded; every rule that enforces it lives in its own
module (``lifecycle``, ``release``) and reads the fields defined here.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from leerid.protocol.duration import Duration

_ID = r"^[a-z0-9][a-z0-9-]*[a-z0-9]$"
_MEASURE_ID = r"^m-[a-z0-9][a-z0-9-]*$"
_ROLE_ID = r"^[a-z][a-z0-9_-]*$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


Text = Annotated[str, Field(min_length=1)]
"""A non-empty text, in the protocol's language."""


def _kbo_digits(value: Any) -> Any:
    if isinstance(value, int):
        return f"{value:010d}"
    if isinstance(value, str):
        return re.sub(r"[\s.]", "", value)
    return value


def _check_mod97(digits: str, first: str, what: str, example: str) -> str:
    if not re.fullmatch(r"\d{10}", digits) or digits[0] not in first:
        raise ValueError(
            f"{what} must be 10 digits starting with {' or '.join(first)}, written like {example}"
        )
    if 97 - int(digits[:8]) % 97 != int(digits[8:]):
        raise ValueError(
            f"{what} {digits} fails its check digits (97 - first 8 digits mod 97); "
            "copy the number again from the KBO (kbopub.economie.fgov.be)"
        )
    return f"{digits[:4]}.{digits[4:7]}.{digits[7:]}"


def _valid_enterprise(digits: str) -> str:
    return _check_mod97(digits, "01", "an enterprise number (KBO)", "0316.380.841")


def _valid_establishment(digits: str) -> str:
    checked = _check_mod97(digits, "2345678", "an establishment unit number", "2.199.310.989")
    plain = checked.replace(".", "")
    return f"{plain[0]}.{plain[1:4]}.{plain[4:7]}.{plain[7:]}"


EnterpriseNumber = Annotated[str, BeforeValidator(_kbo_digits), AfterValidator(_valid_enterprise)]
"""A KBO enterprise number ``0xxx.xxx.xxx``, checked with its mod-97 check digits."""

EstablishmentNumber = Annotated[
    str, BeforeValidator(_kbo_digits), AfterValidator(_valid_establishment)
]
"""A KBO establishment unit number (10 digits, first 2 to 8), checked with mod 97."""


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("a moment needs its UTC offset, for example 2024-03-25T14:40:38+01:00")
    return value


Moment = Annotated[dt.datetime, AfterValidator(_aware)]
"""A date and time with its UTC offset (signatures, status changes)."""


# --- identity and parties ---------------------------------------------------------------


class LegalFrame(_Model):
    """The legal frame the protocol is concluded under (decree of 18 July 2008, art. 8 §1)."""

    decree: Text = Field(description="The decree, e.g. 'decreet van 18 juli 2008 …'.")
    article: Text = Field(description="The article, e.g. 'artikel 8, §1'.")
    text: Text = Field(description="The sentence of the protocol stating the frame.")


class Representative(_Model):
    name: Text
    function: str | None = None
    organisation: str | None = None


class DataProtectionOfficer(_Model):
    """A party's DPO (art. 6 first measure) and the date of their advice (preamble F, G)."""

    advice_date: dt.date | None = Field(
        default=None, description="The date the DPO advised on the draft (preamble F/G)."
    )
    name: str | None = None
    contact: str | None = Field(
        default=None, description="E-mail or address; needed for the art. 30 register."
    )


class Party(_Model):
    """One party: who it is, who represents it, its KBO number, address and DPO."""

    short_name: Text = Field(description="How the text refers to the party, e.g. 'DOV'.")
    name: Text
    represented_by: Text = Field(description="The representation sentence of the protocol.")
    representatives: tuple[Representative, ...] = Field(min_length=1)
    enterprise_number: EnterpriseNumber
    establishment_number: EstablishmentNumber | None = None
    address: Text
    dpo: DataProtectionOfficer


class Parties(_Model):
    discloser: Party = Field(description="The party that discloses the data (DOV).")
    recipient: Party = Field(description="The party that receives it (the service provider).")


class PartyRole(StrEnum):
    DISCLOSER = "discloser"
    RECIPIENT = "recipient"


class Signature(_Model):
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


class LegalBasis(_Model):
    """Art. 2: the ground of the recipient's processing (GDPR art. 6.1)."""

    gdpr_article: Literal["6.1.a", "6.1.b", "6.1.c", "6.1.d", "6.1.e", "6.1.f"]
    text: Text


class Purposes(_Model):
    """Art. 2, 1° and 2°: why each party processes the data."""

    discloser_lead: Text = Field(description="Art. 2, 1°: the sentence that opens it.")
    discloser: Text = Field(description="Art. 2, 1°: the original purposes of DOV.")
    recipient_lead: Text = Field(description="Art. 2, 2°: the sentence that opens it.")
    recipient: Text = Field(description="Art. 2, 2°: the purposes of the service provider.")


# --- art. 3: attributes -------------------------------------------------------------------


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


class Attribute(_Model):
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


class DecretalBasis(_Model):
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


class Retention(_Model):
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


class DataSection(_Model):
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


# --- art. 4 to 11 -------------------------------------------------------------------------


class RecipientRole(_Model):
    """Art. 4: a category of persons at the recipient who may see data, with a stable id."""

    id: Annotated[str, Field(pattern=_ROLE_ID)]
    label: Text
    text: Text = Field(description="What the protocol says about this category.")
    article: Text = Field(description="Where it comes from, e.g. 'art. 4'.")
    sees_pupil_data: bool = Field(description="Whether the role may see the pupils' data.")
    sees_privacy_log: bool = Field(description="Whether the role may read the privacy log.")


class OnwardDisclosure(_Model):
    """Art. 4: no onward disclosure; never to other LeerID service providers."""

    permitted: Literal[False] = Field(
        description="Whether the recipient may pass the data on (always false)."
    )
    prior_notice_to_discloser: bool
    forbidden_to_other_service_providers: Literal[True]
    text: Text


class Recipients(_Model):
    intro: Text
    roles: tuple[RecipientRole, ...] = Field(min_length=1)
    onward_disclosure: OnwardDisclosure

    @model_validator(mode="after")
    def _unique_roles(self) -> Recipients:
        ids = [r.id for r in self.roles]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"role id(s) {', '.join(duplicates)} used twice; ids are unique")
        return self


class Periodicity(StrEnum):
    AT_EVERY_LOGIN = "at_every_login"


class Communication(_Model):
    """Art. 5: when, how and how long the data is communicated."""

    periodicity: Periodicity
    indefinite: bool = Field(description="For an indefinite period (the seed: yes).")
    ends_on: dt.date | None = Field(
        default=None, description="The end of the communication when it is not indefinite."
    )
    text: tuple[Text, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _end(self) -> Communication:
        if self.indefinite and self.ends_on is not None:
            raise ValueError("an indefinite communication has no ends_on; remove one of both")
        if not self.indefinite and self.ends_on is None:
            raise ValueError("a communication for a fixed period needs ends_on: YYYY-MM-DD")
        return self


class SecurityMeasure(_Model):
    """Art. 6: one measure, with a stable id that evidence can point at."""

    id: Annotated[str, Field(pattern=_MEASURE_ID)]
    text: Text
    applies_to: tuple[PartyRole, ...] = Field(min_length=1)
    scope: Literal["processing", "communication"] = Field(
        description="'processing': further processing (first list); 'communication': the "
        "disclosure itself (second list)."
    )


class Security(_Model):
    intro_processing: Text
    intro_communication: Text
    measures: tuple[SecurityMeasure, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Security:
        ids = [m.id for m in self.measures]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"measure id(s) {', '.join(duplicates)} used twice; ids are unique")
        return self


class Clause(_Model):
    """An article whose content is its text (art. 7, 8, 9, 10)."""

    text: tuple[Text, ...] = Field(min_length=1)


class DataQuality(Clause):
    """Art. 7: a party that finds wrong or missing data tells the others at once, in writing."""

    in_writing: bool
    immediately: bool


class Sanction(Clause):
    """Art. 8: DOV may end the protocol unilaterally on non-compliance."""

    unilateral_termination_by: PartyRole


class BreachNotification(Clause):
    """Art. 9: breaches reported to each other through the DPOs (GDPR art. 33)."""

    via: Literal["dpo"]
    without_undue_delay: bool


class ApplicableLaw(Clause):
    """Art. 10: Belgian law; the competent court in Brussels."""

    law: Text
    court: Text


class EntryIntoForce(Clause):
    """Art. 11: in force on the date both parties signed (or a later date the text names)."""

    not_before: dt.date | None = Field(
        default=None, description="A later start date, when the text sets one."
    )


# --- status changes -----------------------------------------------------------------------


class StatusChangeKind(StrEnum):
    SUSPENDED = "suspended"
    RESUMED = "resumed"
    TERMINATED = "terminated"
    ENDED = "ended"


class StatusChange(_Model):
    """A change of status after entry into force: suspension, resumption, termination, end."""

    kind: StatusChangeKind
    effective: Moment
    reason: Text
    by: PartyRole | None = None
    reference: str | None = Field(default=None, description="Letter, decision or notice.")


# --- the whole protocol -------------------------------------------------------------------


class Protocol(_Model):
    """A protocol for the electronic communication of personal data (decree 2008, art. 8 §1)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
        title="LeerID data-sharing protocol",
    )

    id: Annotated[str, Field(pattern=_ID, description="Stable id, e.g. dov-lars-glce-2024.")]
    version: Annotated[
        str,
        BeforeValidator(lambda v: str(v) if isinstance(v, int) else v),
        Field(min_length=1, description="The document's own version label."),
    ]
    language: Literal["nl"] = "nl"
    title: Text
    subtitle: str | None = None
    date: dt.date = Field(description="The date on the protocol ('Opgemaakt te …, op …').")
    place: Text
    legal_frame: LegalFrame
    summary: Text = Field(description="'Korte omschrijving'.")
    data_subjects: Text = Field(description="The categories of data subjects (the pupils).")
    parties: Parties
    preamble: tuple[Text, ...] = Field(
        min_length=1, description="Considerations A, B, … in order (A and B describe parties)."
    )
    subject: Text = Field(description="Art. 1: subject.")
    legal_basis: LegalBasis
    purposes: Purposes
    data: DataSection
    decretal_basis: DecretalBasis
    recipients: Recipients
    communication: Communication
    security: Security
    data_quality: DataQuality
    sanction: Sanction
    breach_notification: BreachNotification
    applicable_law: ApplicableLaw
    entry_into_force: EntryIntoForce
    end: Clause = Field(description="Art. 11: how the protocol ends and what survives it.")
    signatures: tuple[Signature, ...] = ()
    status_changes: tuple[StatusChange, ...] = ()

    @model_validator(mode="after")
    def _status_changes_in_order(self) -> Protocol:
        previous: StatusChange | None = None
        for change in self.status_changes:
            if previous is not None:
                if change.effective < previous.effective:
                    raise ValueError(
                        "status_changes must be in chronological order; "
                        f"{change.kind.value} at {change.effective.isoformat()} comes before "
                        f"{previous.kind.value} at {previous.effective.isoformat()}"
                    )
                if previous.kind in (StatusChangeKind.TERMINATED, StatusChangeKind.ENDED):
                    raise ValueError(
                        f"nothing can follow {previous.kind.value}: a terminated or ended "
                        "protocol is final; make a new protocol instead"
                    )
            if change.kind is StatusChangeKind.RESUMED and (
                previous is None or previous.kind is not StatusChangeKind.SUSPENDED
            ):
                raise ValueError("'resumed' must follow a 'suspended' change")
            previous = change
        return self

    def attribute(self, key: AttributeKey) -> Attribute | None:
        """The listed attribute ``key``, or ``None`` when the protocol does not list it."""
        return next((a for a in self.data.attributes if a.key is key), None)

    @property
    def attribute_keys(self) -> frozenset[AttributeKey]:
        """The attributes the protocol lists (art. 3)."""
        return frozenset(a.key for a in self.data.attributes)

    @property
    def security_measures(self) -> tuple[SecurityMeasure, ...]:
        """Art. 6: the measures, each with its stable id."""
        return self.security.measures

    def security_measure(self, measure_id: str) -> SecurityMeasure | None:
        """The measure with id ``measure_id`` (e.g. ``m-privacylog``), or ``None``."""
        return next((m for m in self.security.measures if m.id == measure_id), None)

    @property
    def retention(self) -> Retention:
        """Art. 3: the retention values."""
        return self.data.retention

    @property
    def roles(self) -> tuple[RecipientRole, ...]:
        """Art. 4: the roles at the recipient."""
        return self.recipients.roles

    def role(self, role_id: str) -> RecipientRole | None:
        """The role with id ``role_id`` (e.g. ``toegangscontrole``), or ``None``."""
        return next((r for r in self.recipients.roles if r.id == role_id), None)
