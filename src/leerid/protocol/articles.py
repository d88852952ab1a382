"""Art. 4 to 11 of the protocol: recipients and roles, communication, security measures and
the clauses."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, model_validator

from leerid.protocol.fields import MEASURE_ID_PATTERN, ROLE_ID_PATTERN, ProtocolModel, Text
from leerid.protocol.parties import PartyRole

__all__ = [
    "ApplicableLaw",
    "BreachNotification",
    "Clause",
    "Communication",
    "DataQuality",
    "EntryIntoForce",
    "OnwardDisclosure",
    "Periodicity",
    "RecipientRole",
    "Recipients",
    "Sanction",
    "Security",
    "SecurityMeasure",
]


class RecipientRole(ProtocolModel):
    """Art. 4: a category of persons at the recipient who may see data, with a stable id."""

    id: Annotated[str, Field(pattern=ROLE_ID_PATTERN)]
    label: Text
    text: Text = Field(description="What the protocol says about this category.")
    article: Text = Field(description="Where it comes from, e.g. 'art. 4'.")
    sees_pupil_data: bool = Field(description="Whether the role may see the pupils' data.")
    sees_privacy_log: bool = Field(description="Whether the role may read the privacy log.")


class OnwardDisclosure(ProtocolModel):
    """Art. 4: "Elke eventuele mededeling [...] moet voorafgaandelijk aan DOV worden gemeld";
    "niet toegelaten [...] aan andere dienstenleveranciers die (willen) aansluiten op Leer_ID".

    The recipient may not pass the data on freely (``permitted: false``): each disclosure to
    a third party needs a prior notice to the discloser and must comply with data-protection
    law, and a disclosure to another (would-be) LeerID service provider is never allowed.
    """

    permitted: Literal[False] = Field(
        description="Whether the recipient may pass the data on freely, without a prior "
        "notice (always false: art. 4 allows a disclosure only once notified beforehand)."
    )
    prior_notice_to_discloser: bool = Field(
        description="Whether each onward disclosure must be notified to the discloser "
        "beforehand ('voorafgaandelijk aan DOV worden gemeld')."
    )
    forbidden_to_other_service_providers: Literal[True] = Field(
        description="Never to other service providers that are or want to be connected to "
        "LeerID ('die (willen) aansluiten op Leer_ID')."
    )
    text: Text


class Recipients(ProtocolModel):
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


class Communication(ProtocolModel):
    """Art. 5: when, how and how long the data is communicated."""

    periodicity: Periodicity
    indefinite: bool = Field(description="For an indefinite period (the seed: yes).")
    ends_on: dt.date | None = Field(
        default=None, description="The end of the communication when it is not indefinite."
    )
    disclosure_without_login: bool = Field(
        default=False,
        description="Art. 5: whether data may be disclosed without the pupil logging in "
        "(refresh tokens, scope offline_access). The seed requests the data 'telkens de "
        "leerling inlogt', so: no. Absent means no: disclosure beyond each login needs a "
        "protocol that says so.",
    )
    text: tuple[Text, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _end(self) -> Communication:
        if self.indefinite and self.ends_on is not None:
            raise ValueError("an indefinite communication has no ends_on; remove one of both")
        if not self.indefinite and self.ends_on is None:
            raise ValueError("a communication for a fixed period needs ends_on: YYYY-MM-DD")
        return self


class SecurityMeasure(ProtocolModel):
    """Art. 6: one measure, with a stable id that evidence can point at."""

    id: Annotated[str, Field(pattern=MEASURE_ID_PATTERN)]
    text: Text
    applies_to: tuple[PartyRole, ...] = Field(min_length=1)
    scope: Literal["processing", "communication"] = Field(
        description="'processing': further processing (first list); 'communication': the "
        "disclosure itself (second list)."
    )


class Security(ProtocolModel):
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


class Clause(ProtocolModel):
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
