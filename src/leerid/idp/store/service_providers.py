"""Art. 4: which organisations are LeerID service providers, by KBO number.

"In het bijzonder is het niet toegelaten dat de Dienstenleverancier de gegevens zoals vermeld
in artikel 3 meedeelt aan andere dienstenleveranciers die (willen) aansluiten op Leer_ID."
A recipient asks DOV before it passes data on; DOV's answer comes from its client registry
(every registered client's organisation, also a disabled one or one whose protocol is not in
force yet) and from the recipients of every stored protocol version ("willen aansluiten":
a protocol was drawn up). The asking client's own organisation is one too: an export to
oneself is no onward disclosure and is refused as well.
"""

from __future__ import annotations

import json

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from leerid.errors import LeeridError
from leerid.idp.store.models import IdpClient
from leerid.idp.store.protocols import ProtocolVersion
from leerid.protocol.fields import enterprise_number

__all__ = ["is_leerid_service_provider", "kbo_parameter"]


def kbo_parameter(value: str, name: str = "kbo") -> str:
    """``value`` as ``0123.456.789``, or a ``LeeridError`` naming the parameter ``name``."""
    try:
        return enterprise_number(value)
    except ValueError as exc:
        raise LeeridError(f"{name}: {exc}") from None


def _protocol_recipients(session: Session) -> set[str]:
    """The recipients' KBO numbers of every stored protocol version (canonical JSON)."""
    found: set[str] = set()
    for text in session.scalars(select(ProtocolVersion.canonical_json)):
        number = json.loads(text).get("parties", {}).get("recipient", {}).get("enterprise_number")
        if number:
            found.add(enterprise_number(str(number)))
    return found


def is_leerid_service_provider(engine: Engine, kbo: str) -> bool:
    """Art. 4: whether the organisation ``kbo`` (checked form) is, or wants to be, a LeerID
    service provider: a registered client's organisation or a stored protocol's recipient."""
    with Session(engine) as session:
        client = session.scalar(select(IdpClient.client_id).where(IdpClient.kbo == kbo).limit(1))
        return client is not None or kbo in _protocol_recipients(session)
