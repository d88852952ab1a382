"""Extra accounts for an identified pupil (``leerid accounts create --leerid-uuid U``).

Art. 3: several accounts may arise per pupil, so an ``account_uuid`` does not identify a
pupil; each is a fresh random UUID and never reused.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from leerid.errors import NotFoundError
from leerid.registry.identities import mint_uuid
from leerid.registry.models import Account, AccountStatus, MergeRecord, Pupil

__all__ = ["create_account"]


def create_account(session: Session, leer_id_uuid: str) -> str:
    """A new permanent account for the pupil with ``leer_id_uuid``; its ``account_uuid``."""
    pupil_id = session.scalar(select(Pupil.id).where(Pupil.leer_id_uuid == leer_id_uuid))
    if pupil_id is None:
        merged_into = session.scalar(
            select(MergeRecord.kept_leer_id_uuid).where(
                MergeRecord.absorbed_leer_id_uuid == leer_id_uuid
            )
        )
        if merged_into is not None:
            raise NotFoundError(
                f"leer_id_uuid {leer_id_uuid} was merged into {merged_into}; "
                f"create the account for {merged_into}"
            )
        raise NotFoundError(
            f"no identified pupil has leer_id_uuid {leer_id_uuid}; check it with "
            "`leerid registry show --leerid-uuid U`"
        )
    account_uuid = mint_uuid()
    session.add(
        Account(account_uuid=account_uuid, pupil_id=pupil_id, status=AccountStatus.PERMANENT)
    )
    session.flush()
    return account_uuid
