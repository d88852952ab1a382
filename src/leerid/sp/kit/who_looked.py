"""Who looked at a pupil's file: the function and the moment, never the name.

GDPR art. 15 (the pupil's own page) and the DPO's answer to an access request both need the
staff acts on one pupil's file from the privacy log (art. 6). An entry written when a member
of staff opens, adds to or reports on a file carries ``detail.functie``: the label of their
function profile at that moment (art. 4, second indent). Older entries without it fall back
to the label of the actor's role today, and otherwise to "medewerker".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from leerid.sp.kit.carried_history import of_pupil
from leerid.sp.kit.models import PrivacyLogEntry, StaffAccount
from leerid.sp.kit.privacy_log import detail_of

STAFF_ACTS = {
    "leerling_bekeken": "bekeek het dossier",
    "dossier_aangevuld": "voegde een activiteit toe",
    "melding_gegevenskwaliteit": "meldde foutieve gegevens",
}
"""The privacy-log actions that are a member of staff working on one pupil's file."""

FUNCTION = "functie"
"""The key of ``PrivacyLogEntry.detail`` that holds the function label (art. 4)."""

UNKNOWN_FUNCTION = "medewerker"


@dataclass(frozen=True)
class Look:
    """One staff act on a pupil's file: when, in which function, what (no name)."""

    at: dt.datetime
    function: str
    act: str
    action: str
    actor: str = ""  # the staff username: for the DPO's answer only, never the pupil's page


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def recorded_function(detail: str) -> str | None:
    """The function label an entry recorded (art. 4), None for an older entry."""
    value = detail_of(detail).get(FUNCTION)
    return value if isinstance(value, str) and value else None


def looks_at(
    session: Session, pupil_key: str, role_labels: Mapping[str, str] | None = None
) -> list[Look]:
    """The staff acts on ``pupil_key``'s file, oldest first (art. 6 privacy log)."""
    rows = session.execute(
        select(
            PrivacyLogEntry.at,
            PrivacyLogEntry.action,
            PrivacyLogEntry.detail,
            StaffAccount.role,
            PrivacyLogEntry.actor,
        )
        .outerjoin(StaffAccount, StaffAccount.username == PrivacyLogEntry.actor)
        .where(  # also what was logged under an earlier key (a merge, an identification)
            of_pupil(session, pupil_key),
            PrivacyLogEntry.action.in_(tuple(STAFF_ACTS)),
        )
        .order_by(PrivacyLogEntry.seq)
    ).all()
    labels = role_labels or {}
    return [
        Look(
            _aware(at),
            recorded_function(detail) or labels.get(role or "", UNKNOWN_FUNCTION),
            STAFF_ACTS[action],
            action,
            actor,
        )
        for at, action, detail, role, actor in rows
    ]
