"""A pupil's file history across a merge or an identification (GDPR art. 15, art. 3).

When DOV merges two pupils or identifies a temporary account, the record, the dossier and the
reports move to the new key (``last_login.rekey``, ``pupil_batches``). The privacy log is
append-only, so its entries stay under the old key; yet the pupil's own page ("wie keek",
"aan wie gaf LARS je gegevens door") and the DPO's lookup for an access request must cover
them. Keeping the old keys would break art. 3 ("Enkel de gegevens op het moment van de
laatste aanmelding [...] worden bewaard"), so the move writes one entry under the new key,
``geschiedenis_overgenomen``, that lists the sequence numbers of the old key's entries that
matter here (``detail.volgnummers``): numbers of the log itself, no key. A later move carries
those entries along too, so a chain of merges resolves in one step.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from leerid.sp.kit import privacy_log
from leerid.sp.kit.models import PrivacyLogEntry
from leerid.store import bulk

CARRIED = "geschiedenis_overgenomen"
TRACKED = (
    "leerling_bekeken",
    "dossier_aangevuld",
    "melding_gegevenskwaliteit",
    "doorgegeven",
    CARRIED,
)
"""The entries a pupil's history is made of: staff acts, onward disclosures, earlier moves."""
PURPOSE = "AVG art. 15: de geschiedenis van het dossier volgt de leerling na een samenvoeging"


def carry(session: Session, moved: Mapping[str, str]) -> None:
    """Art. 3, GDPR art. 15: for each old key in ``moved`` that has history, one entry under
    its new key with the sequence numbers of that history (in this transaction)."""
    olds = sorted(old for old, new in moved.items() if old != new)
    per_new: dict[str, set[int]] = {}
    for condition in bulk.keys_in(session, PrivacyLogEntry.pupil_key, olds):
        rows = session.execute(
            select(PrivacyLogEntry.pupil_key, PrivacyLogEntry.seq, PrivacyLogEntry.detail)
            .where(condition)
            .where(PrivacyLogEntry.action.in_(TRACKED))
        )
        for old, seq, detail in rows:
            if old is None:  # the condition names keys; a NULL key never matches it
                continue
            history = per_new.setdefault(moved[old], set())
            history.add(seq)
            history.update(_carried(detail))  # an earlier move's entries come along
    if per_new:
        privacy_log.append_many(
            session,
            [
                {
                    "actor": "systeem",
                    "action": CARRIED,
                    "purpose": PURPOSE,
                    "pupil_key": new,
                    "detail": {"volgnummers": sorted(seqs)},
                }
                for new, seqs in sorted(per_new.items())
            ],
        )


def _carried(detail: str) -> list[int]:
    numbers = privacy_log.detail_of(detail).get("volgnummers", [])
    return [n for n in numbers if isinstance(n, int)] if isinstance(numbers, list) else []


def of_pupil(session: Session, pupil_key: str) -> ColumnElement[bool]:
    """The condition for the entries of ``pupil_key``'s history: under the key itself, or
    carried to it by a merge or identification."""
    details = session.scalars(
        select(PrivacyLogEntry.detail).where(
            PrivacyLogEntry.pupil_key == pupil_key, PrivacyLogEntry.action == CARRIED
        )
    )
    seqs: Collection[int] = sorted({n for d in details for n in _carried(d)})
    if not seqs:
        return PrivacyLogEntry.pupil_key == pupil_key
    return or_(PrivacyLogEntry.pupil_key == pupil_key, PrivacyLogEntry.seq.in_(seqs))
