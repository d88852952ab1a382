"""DOV's breach register (art. 9, GDPR art. 33): the register both parties share
(``leerid.duties.breach_register``) on DOV's tables (idp_breach, idp_breach_update), each act
written in DOV's staff privacy log (art. 6).

A DOV breach names the recipients it concerns (their client ids; none: every client). Art. 9
has the DPOs inform each other, so the e-mail goes to each concerned recipient's DPO: the
``dpo.contact`` of the recipient party in the client's current protocol when that is an
e-mail address, else ``LEERID_MAIL_OTHER_PARTY_DPO``. One e-mail per address, naming only
that address's own recipients: a recipient never learns which other recipients were told.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from leerid.duties import breach_register as register
from leerid.duties.breach_register import Authority, BreachInputError, BreachView
from leerid.duties.mail import MailError, MailSettings
from leerid.idp.store.clients import Client, list_clients
from leerid.idp.store.console import staff_log
from leerid.idp.store.console_tables import DovBreach, DovBreachUpdate
from leerid.idp.store.protocols import current_protocol
from leerid.store.engine import session_scope

__all__ = [
    "PARTY",
    "Authority",
    "BreachView",
    "add_breach",
    "concerned_clients",
    "list_breaches",
    "notify_recipients",
    "recipient_dpos",
    "update_breach",
]

_EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")


def _log(
    session: Session, actor: str, action: str, purpose: str, detail: Mapping[str, Any]
) -> None:
    staff_log.append(session, actor=actor, action=action, purpose=purpose, detail=dict(detail))


def _clients_line(row: Any, named: Sequence[str]) -> list[str]:
    """Art. 9: the recipients of this e-mail's DPO only (never the others concerned)."""
    return [f"Betrokken ontvanger(s) van uw organisatie: {', '.join(named)}"] if named else []


PARTY = register.Party(
    breach=DovBreach,
    update=DovBreachUpdate,
    log=_log,
    resend="`leerid breaches update ID --notify`",
    listing="`leerid breaches list`",
    extra_body=_clients_line,
)


def concerned_clients(engine: Engine, named: Sequence[str]) -> list[Client]:
    """The clients a breach concerns: those named (each must exist), or every active one."""
    clients = {c.client_id: c for c in list_clients(engine)}
    unknown = [c for c in named if c not in clients]
    if unknown:
        raise BreachInputError(
            f"unknown client(s) {', '.join(unknown)}; `leerid clients list` shows them",
            "Onbekende ontvanger: kies de betrokken ontvangers uit de lijst.",
        )
    if named:
        return [clients[c] for c in dict.fromkeys(named)]
    return [c for c in clients.values() if not c.disabled]


def recipient_dpos(
    engine: Engine, mail: MailSettings, clients: Sequence[Client]
) -> dict[str, list[str]]:
    """Art. 9: the DPO address of each client's recipient (its protocol's ``dpo.contact``,
    else ``LEERID_MAIL_OTHER_PARTY_DPO``) → the clients of that DPO, by name and id;
    MailError names a client with neither."""
    found: dict[str, list[str]] = {}
    with session_scope(engine) as session:
        for client in clients:
            stored = current_protocol(session, client.protocol_id)
            contact = stored.protocol.parties.recipient.dpo.contact if stored else None
            match = _EMAIL.search(contact or "")
            address = match.group(0) if match else mail.other_party_dpo
            if address is None:
                raise MailError(
                    f"no DPO e-mail address for client {client.client_id}: its protocol's "
                    "recipient has no e-mail in dpo.contact; set LEERID_MAIL_OTHER_PARTY_DPO, "
                    "then run `leerid breaches update ID --notify`"
                )
            found.setdefault(address, []).append(f"{client.name} ({client.client_id})")
    return found


def _addresses(engine: Engine, mail: MailSettings, breach_id: int) -> dict[str, list[str]]:
    with session_scope(engine) as session:
        row = session.get(DovBreach, breach_id)
        named = (row.clients if row else "").split()
    return recipient_dpos(engine, mail, concerned_clients(engine, named))


def add_breach(
    engine: Engine,
    mail: MailSettings,
    *,
    actor: str,
    discovered_at: dt.datetime,
    description: str,
    categories: str,
    pupils_affected: int,
    measures: str,
    clients: Sequence[str] = (),
    notify: bool = True,
) -> int:
    """Record a breach at DOV; mail the concerned recipients' DPOs at once (art. 9)."""
    concerned = concerned_clients(engine, clients)
    breach_id = register.add_breach(
        engine,
        PARTY,
        mail,
        actor=actor,
        discovered_at=discovered_at,
        description=description,
        categories=categories,
        pupils_affected=pupils_affected,
        measures=measures,
        notify=False,
        columns={"clients": " ".join(dict.fromkeys(clients))},
    )
    if notify:
        to = recipient_dpos(engine, mail, concerned)
        register.notify_other_party(engine, PARTY, mail, breach_id, actor=actor, to=to)
    return breach_id


def notify_recipients(engine: Engine, mail: MailSettings, breach_id: int, *, actor: str) -> None:
    """Art. 9: the breach as it stands now, to each concerned recipient's DPO."""
    to = _addresses(engine, mail, breach_id)
    register.notify_other_party(engine, PARTY, mail, breach_id, actor=actor, to=to)


def update_breach(
    engine: Engine,
    mail: MailSettings,
    breach_id: int,
    *,
    actor: str,
    text: str | None = None,
    status: str | None = None,
    authority: Authority | None = None,
    notify: bool = False,
) -> None:
    """GDPR art. 33.4: information in phases; art. 33.1/33.5: the authority or why not."""
    register.update_breach(
        engine, PARTY, mail, breach_id, actor=actor, text=text, status=status, authority=authority
    )
    if notify:
        notify_recipients(engine, mail, breach_id, actor=actor)


def list_breaches(engine: Engine, now: dt.datetime | None = None) -> list[BreachView]:
    """Every DOV breach, newest first, with its updates and both clocks."""
    return register.list_breaches(engine, PARTY, now)
