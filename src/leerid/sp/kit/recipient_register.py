"""The recipient's own register of processing activities (art. 6, ``m-register``; GDPR art. 30).

``leerid protocol register`` builds the entry from the protocol alone. The recipient also knows
what the protocol leaves to it: its processors (art. 6, ``m-verwerkers``), among them the party
that runs the pupils' app when that is another party (title: "LARS via de app van GLCE"), and
the onward recipients DOV was notified of beforehand (art. 4). This module adds them.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from leerid.protocol.model import PartyRole
from leerid.protocol.register import OwnRecipients, RegisterFormat, render_register
from leerid.sp.kit.models import OnwardRecipient
from leerid.sp.kit.provider import ServiceProvider
from leerid.store.engine import session_scope

__all__ = ["own_recipients", "recipient_register"]


def _day(moment: dt.datetime) -> str:
    return moment.date().isoformat()


def own_recipients(provider: ServiceProvider) -> OwnRecipients:
    """Our processors (the app's operator marked) and the onward recipients DOV was told of."""
    app = provider.settings.app
    processors = []
    for p in provider.settings.processor_list:
        text = f"{p.name} ({p.purpose}; {p.location}; sinds {p.since.isoformat()})"
        if app is not None and app.operator and app.operator.casefold() == p.name.casefold():
            text += f"; beheert de app {app.name}"
        processors.append(text)
    with session_scope(provider.engine) as session:
        rows = session.scalars(
            select(OnwardRecipient)
            .where(OnwardRecipient.notified_at.is_not(None))
            .where(OnwardRecipient.leerid_service_provider.is_not(True))
            .order_by(OnwardRecipient.name)
        ).all()
        onward = tuple(
            f"{r.name} (KBO {r.kbo}): doel {r.purpose}; rechtsgrond {r.legal_basis}; "
            f"vooraf gemeld aan DOV op {_day(r.notified_at)}"
            for r in rows
            if r.notified_at is not None
        )
    return OwnRecipients(processors=tuple(processors), onward=onward)


def recipient_register(
    provider: ServiceProvider, fmt: RegisterFormat | str, at: dt.datetime | None = None
) -> str:
    """The register entry of the protocol in force, as the recipient keeps it."""
    moment = at or dt.datetime.now(dt.UTC)
    return render_register(
        [provider.protocol], fmt, PartyRole.RECIPIENT, moment, own_recipients(provider)
    )
