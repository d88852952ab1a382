"""The protocol versions DOV publishes (decree of 18 July 2008, art. 8 §1: "Dat protocol
wordt bekendgemaakt op de website van beide partijen").

A stored version is published as it binds: signed only by what was recorded over its hash
(art. 11, ``signed_versions``) and with the protocol's recorded end (art. 8, 11), if any.
The pupil's page links every release to the text of the version it was made under.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from leerid.idp.store.endings import find_ending
from leerid.idp.store.protocols import StoredProtocol, signed_versions
from leerid.protocol.status_changes import with_ending

__all__ = ["published_version"]


def published_version(engine: Engine, protocol_id: str, version: int) -> StoredProtocol | None:
    """Version ``version`` of ``protocol_id`` as published, or None when it was never stored."""
    with Session(engine) as session:
        found = next(
            (v for v in signed_versions(session, protocol_id) if v.version == version), None
        )
        ending = find_ending(session, protocol_id) if found is not None else None
    if found is None or ending is None:
        return found
    # Art. 8, 11: an end holds for every version; who recorded it is not for the public page.
    change = ending.status_change().model_copy(update={"reference": None})
    changes = with_ending(found.protocol.status_changes, change)
    return replace(found, protocol=found.protocol.model_copy(update={"status_changes": changes}))
