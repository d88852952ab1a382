"""The manual merge of two identified pupils (``leerid registry merge``), with an audit record.

Issue 2 §5: when an INSZ arrives that belongs to another pupil, the import refuses it;
merging two pupils is a deliberate act by a person, recorded in ``merge_record`` (who,
when, why). The kept pupil keeps its ``leer_id_uuid``; the absorbed one is never reused
and still finds the kept pupil; its INSZ joins the kept pupil's INSZ history; its
registrations, accounts (with their credentials) and INSZ history move to the kept pupil.
Every recipient that received either pupil hears of it (``pupils-merged``, issue 10 point 3),
in the merge's own transaction.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from leerid.errors import LeeridError, NotFoundError
from leerid.registry.changes import Change, ChangeKind, record_change
from leerid.registry.models import Account, InszHistory, MergeRecord, Pupil, Registration

__all__ = ["merge_pupils"]


def merge_pupils(
    session: Session, *, keep: str, absorb: str, operator: str, reason: str
) -> MergeRecord:
    """Merge the pupil ``absorb`` into ``keep`` (both leer_id_uuids); the audit record."""
    if not operator.strip() or not reason.strip():
        raise LeeridError(
            "a merge needs --operator (who decides) and --reason (why, e.g. the helpdesk "
            "ticket); both are kept in the audit record"
        )
    if keep == absorb:
        raise LeeridError("--keep and --absorb are the same leer_id_uuid; give two pupils")
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE pupil IN EXCLUSIVE MODE"))  # not during an import
    pupils = {
        p.leer_id_uuid: p
        for p in session.scalars(select(Pupil).where(Pupil.leer_id_uuid.in_([keep, absorb])))
    }
    for option, value in (("--keep", keep), ("--absorb", absorb)):
        if value not in pupils:
            raise NotFoundError(
                f"{option}: no identified pupil has leer_id_uuid {value}; check it with "
                "`leerid registry show --leerid-uuid U`"
            )
    kept, absorbed = pupils[keep], pupils[absorb]
    now = dt.datetime.now(dt.UTC)
    moved = sorted(
        session.scalars(select(Account.account_uuid).where(Account.pupil_id == absorbed.id))
    )
    for table in (Registration, Account, InszHistory):
        session.execute(update(table).where(table.pupil_id == absorbed.id).values(pupil_id=kept.id))
    if absorbed.insz is not None:
        session.add(InszHistory(pupil_id=kept.id, insz=absorbed.insz, replaced_at=now))
    session.execute(delete(Pupil).where(Pupil.id == absorbed.id))
    record = MergeRecord(
        merged_at=now,
        kept_leer_id_uuid=keep,
        absorbed_leer_id_uuid=absorb,
        operator=operator.strip(),
        reason=reason.strip(),
    )
    session.add(record)
    session.flush()
    # Art. 3: the recipients of either pupil re-key the absorbed Leer_id_uuid to the kept one.
    merged = {"kept_leer_id_uuid": keep, "absorbed_leer_id_uuid": absorb}
    record_change(
        session,
        Change(
            ChangeKind.PUPILS_MERGED,
            leer_id_uuid=absorb,
            account_uuids=tuple(moved),
            payload={**merged, "merged_at": now.isoformat()},
            at=now,
        ),
    )
    return record
