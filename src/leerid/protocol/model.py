"""The protocol file as a typed model: everything the signed protocol states, article by article.

Field names are English (they are read by code); the texts are the protocol's own words, in
Dutch. ``Protocol`` is immutable once loaded; every rule that enforces it lives in its own
module (``lifecycle``, ``release``) and reads the fields defined here. The parts are
defined by idea: ``fields`` (field types), ``parties`` (parties, frame, signatures, art. 2),
``attributes`` (art. 3), ``articles`` (art. 4 to 11) and ``status_changes``; this module
joins them into the whole protocol and names them all again for its readers.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BeforeValidator, ConfigDict, Field, model_validator

from leerid.protocol.articles import (
    ApplicableLaw,
    BreachNotification,
    Clause,
    Communication,
    DataQuality,
    EntryIntoForce,
    OnwardDisclosure,
    Periodicity,
    RecipientRole,
    Recipients,
    Sanction,
    Security,
    SecurityMeasure,
)
from leerid.protocol.attributes import (
    ATTRIBUTE_CATEGORY,
    ATTRIBUTE_CLAIM,
    REQUIRED_CONDITIONS,
    Attribute,
    AttributeKey,
    Category,
    Claim,
    Condition,
    DataSection,
    DecretalBasis,
    NoEnrolment,
    RequestKey,
    Retention,
)
from leerid.protocol.fields import (
    ID_PATTERN,
    EnterpriseNumber,
    EstablishmentNumber,
    Moment,
    ProtocolModel,
    Text,
)
from leerid.protocol.parties import (
    DataProtectionOfficer,
    LegalBasis,
    LegalFrame,
    Parties,
    Party,
    PartyRole,
    Purposes,
    Representative,
    Signature,
)
from leerid.protocol.status_changes import (
    EndGround,
    StatusChange,
    StatusChangeKind,
    termination_problem,
)

__all__ = [
    "ATTRIBUTE_CATEGORY",
    "ATTRIBUTE_CLAIM",
    "REQUIRED_CONDITIONS",
    "ApplicableLaw",
    "Attribute",
    "AttributeKey",
    "BreachNotification",
    "Category",
    "Claim",
    "Clause",
    "Communication",
    "Condition",
    "DataProtectionOfficer",
    "DataQuality",
    "DataSection",
    "DecretalBasis",
    "EndGround",
    "EnterpriseNumber",
    "EntryIntoForce",
    "EstablishmentNumber",
    "LegalBasis",
    "LegalFrame",
    "Moment",
    "NoEnrolment",
    "OnwardDisclosure",
    "Parties",
    "Party",
    "PartyRole",
    "Periodicity",
    "Protocol",
    "Purposes",
    "RecipientRole",
    "Recipients",
    "Representative",
    "RequestKey",
    "Retention",
    "Sanction",
    "Security",
    "SecurityMeasure",
    "Signature",
    "StatusChange",
    "StatusChangeKind",
    "Text",
]


class Protocol(ProtocolModel):
    """A protocol for the electronic communication of personal data (decree 2008, art. 8 §1)."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        str_strip_whitespace=True,
        title="LeerID data-sharing protocol",
    )

    id: Annotated[str, Field(pattern=ID_PATTERN, description="Stable id, e.g. dov-lars-glce-2024.")]
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
            previous = change
        problem = termination_problem(self.status_changes, self.sanction.unilateral_termination_by)
        if problem is not None:
            raise ValueError(problem)  # art. 8
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
