"""GDPR art. 15(1)(c): to whom LARS passed one pupil's data on, for the pupil's own report.

Art. 4: "Elke eventuele mededeling van de gevraagde persoonsgegevens door de
Dienstenleverancier moet voorafgaandelijk aan DOV worden gemeld". Each export to a notified
recipient (``onward_export``) writes a ``doorgegeven`` entry per pupil in the privacy log
(art. 6), with the recipient's KBO number and the attributes; the recipient's name and
purpose come from the register of recipients (``sp_onward_recipient``): an organisation's
name is no personal data of the pupil and may be shown.

An export is not a look at the pupil's file (``who_looked``): it reads what DOV disclosed,
not the CLB's dossier, and the pupil needs the recipient rather than the function of the
member of staff; it has this section of its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from leerid.sp.kit.carried_history import of_pupil
from leerid.sp.kit.models import OnwardRecipient, PrivacyLogEntry
from leerid.sp.kit.privacy_log import detail_of

__all__ = ["PASSED_ON", "PassedOn", "passed_on"]

PASSED_ON = "doorgegeven"
"""The privacy-log action of one pupil's data in an export (GDPR art. 15(1)(c))."""


@dataclass(frozen=True)
class PassedOn:
    """One time the pupil's data went to a recipient: when, to whom, which claims, why."""

    at: dt.datetime
    recipient: str
    kbo: str
    purpose: str
    claims: tuple[str, ...]


def passed_on(session: Session, pupil_key: str, claim_of: Mapping[str, str]) -> list[PassedOn]:
    """The exports that held ``pupil_key``, oldest first; ``claim_of`` maps each art. 3
    attribute (``naam``) to its claim (``family_name``), the words the pupil's page uses."""
    rows = session.execute(
        select(PrivacyLogEntry.at, PrivacyLogEntry.detail)
        .where(of_pupil(session, pupil_key), PrivacyLogEntry.action == PASSED_ON)
        .order_by(PrivacyLogEntry.seq)
    ).all()
    details = [(at, detail_of(text)) for at, text in rows]
    kbos = {str(d.get("ontvanger_kbo", "")) for _at, d in details}
    recipients = {
        r.kbo: r
        for r in session.scalars(select(OnwardRecipient).where(OnwardRecipient.kbo.in_(kbos)))
    }
    found = []
    for at, detail in details:
        kbo = str(detail.get("ontvanger_kbo", ""))
        recipient = recipients.get(kbo)
        attributes = [str(a) for a in detail.get("attributen", [])]
        found.append(
            PassedOn(
                at if at.tzinfo else at.replace(tzinfo=dt.UTC),
                recipient.name if recipient else f"de organisatie met KBO-nummer {kbo}",
                kbo,
                recipient.purpose if recipient else "",
                tuple(claim_of.get(a, a) for a in attributes),
            )
        )
    return found
