"""Art. 9, GDPR art. 33: the breach register both parties keep, on their own tables.

A breach is recorded with the moment it was discovered; information follows in phases
(art. 33.4); the supervisory authority is told with its reference, or the register says why
that was not needed (art. 33.5); the other party's DPO is told by e-mail (protocol art. 9).
Each party passes its own tables (same columns) and a callback writing its privacy log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from leerid.duties.breach_clock import (
    STATUSES,
    BreachClock,
    Clocks,
    aware,
    belgian,
    breach_clock,
    clocks,
)
from leerid.duties.mail import MailError, MailSettings, send_mail
from leerid.errors import LeeridError, NotFoundError
from leerid.insz_text import looks_like_insz
from leerid.store.engine import session_scope

__all__ = [
    "MAX_PUPILS",
    "Authority",
    "BreachInputError",
    "BreachView",
    "Party",
    "add_breach",
    "authority_from_form",
    "dutch",
    "list_breaches",
    "notify_other_party",
    "update_breach",
]

MAX_PUPILS = 10_000_000  # more pupils than Flanders has: a typing error, not a breach

# field → (Dutch label on a page, English label in the CLI)
LABELS = {
    "description": ("de beschrijving van het lek", "--description"),
    "categories": ("de categorieën van gegevens", "--categories"),
    "measures": ("de genomen maatregelen", "--measures"),
    "update": ("de update", "the update text"),
    "authority_reference": ("de referentie van de toezichthouder", "--authority-reference"),
    "authority_not_needed": ("de reden om niet te melden", "--authority-not-needed"),
}

LogWriter = Callable[[Session, str, str, str, Mapping[str, Any]], None]
"""(session, actor, action, purpose, detail): one entry in the party's privacy log (art. 6)."""


class BreachInputError(LeeridError):
    """Input the register refuses; ``dutch`` says it for a page."""

    def __init__(self, message: str, dutch: str) -> None:
        super().__init__(message)
        self.dutch = dutch


def dutch(exc: LeeridError) -> str:
    """The Dutch text of a register error for a page (the CLI text otherwise)."""
    return str(getattr(exc, "dutch", "") or exc.message)


def _refuse_insz(text: str, name: str) -> str:
    """Art. 3: no national register number in the register's free text."""
    if looks_like_insz(text):
        nl, en = LABELS.get(name, (name, name))
        raise BreachInputError(
            f"{en} contains what looks like a national register number; leave it out",
            f"In {nl} staat iets dat op een rijksregisternummer (INSZ) lijkt. Laat dat nummer "
            "weg en verstuur opnieuw: het rijksregisternummer hoort niet in het register "
            "van gegevenslekken (protocol art. 3).",
        )
    return text


@dataclass(frozen=True)
class Party:
    """One party's side of the register: its tables, privacy log and commands."""

    breach: type[Any]  # an ORM class with the columns of sp_breach / idp_breach
    update: type[Any]  # an ORM class with the columns of sp_breach_update / idp_breach_update
    log: LogWriter
    refuse: Callable[[str, str], object] = _refuse_insz
    resend: str = "`leerid sp breaches update ID --notify`"
    listing: str = "`leerid sp breaches list`"
    # a party's own lines of the e-mail, given the names that one address may read
    extra_body: Callable[[Any, Sequence[str]], list[str]] = field(default=lambda row, named: [])


@dataclass(frozen=True)
class BreachView:
    breach: Any
    updates: list[Any]
    clock: BreachClock  # GDPR art. 33.1, kept for the callers that show only the deadline
    clocks: Clocks


def _when(moment: dt.datetime | None) -> str:
    return "-" if moment is None else aware(moment).isoformat(timespec="minutes")


def _body(
    party: Party, row: Any, updates: list[Any], now: dt.datetime, named: Sequence[str] = ()
) -> str:
    state = clocks(row, now)
    authority = {
        "gemeld": f"gemeld op {_when(row.authority_notified_at)}, referentie "
        f"{row.authority_reference or '-'}",
        "niet gemeld": f"niet gemeld: {row.authority_not_needed}",
    }.get(state.authority_state, f"nog niet gemeld ({state.authority_state})")
    lines = [
        f"Gegevenslek nr. {row.id} (protocol art. 9, AVG art. 33)",
        f"Vastgesteld op: {_when(row.discovered_at)}",
        f"Termijn 72 uur verstrijkt: {_when(state.authority.deadline)}",
        f"Toezichthouder: {authority}",
        f"Status: {row.status}",
        f"Wat is er gebeurd: {row.description}",
        f"Categorieën van gegevens: {row.categories}",
        f"Aantal betrokken leerlingen: {row.pupils_affected}",
        f"Genomen maatregelen: {row.measures}",
        *party.extra_body(row, named),
    ]
    lines += [f"Update {_when(u.at)}: {u.text}" for u in updates]
    return "\n".join(lines) + "\n"


def _updates(session: Session, party: Party, breach_id: int) -> list[Any]:
    query = select(party.update).where(party.update.breach_id == breach_id)
    return list(session.scalars(query.order_by(party.update.id)))


def _get(session: Session, party: Party, breach_id: int) -> Any:
    row = session.get(party.breach, breach_id)
    if row is None:
        raise NotFoundError(f"no breach {breach_id}; see {party.listing}")
    return row


Recipients = str | Sequence[str] | Mapping[str, Sequence[str]] | None
"""Where the e-mail goes: the default DPO (None), addresses, or address → what that address
may read of its own (DOV: the recipients of that DPO, never the others)."""


def _send_each(
    mail: MailSettings,
    subject: str,
    body: Callable[[Sequence[str]], str],
    to: Recipients,
    resend: str,
) -> None:
    """Art. 9: one e-mail per DPO, each naming only its own (a recipient's DPO never learns
    which others were told); every address is tried, then the first failure is raised (the
    breach stays unnotified)."""
    if isinstance(to, Mapping):
        named: dict[str | None, Sequence[str]] = dict(to.items())
    else:
        addresses = [to] if to is None or isinstance(to, str) else list(dict.fromkeys(to))
        named = {address: () for address in addresses or [None]}
    failed: list[MailError] = []
    for address, own in named.items():
        try:
            send_mail(mail, subject, body(own), address, resend=resend)
        except MailError as exc:
            failed.append(exc)
    if failed:
        raise failed[0]


def _named(to: Recipients) -> set[tuple[str, ...]]:
    """Every distinct set of names an e-mail of ``to`` carries."""
    return {tuple(n) for n in to.values()} if isinstance(to, Mapping) else {()}


def add_breach(
    engine: Engine,
    party: Party,
    mail: MailSettings,
    *,
    actor: str,
    discovered_at: dt.datetime,
    description: str,
    categories: str,
    pupils_affected: int,
    measures: str,
    notify: bool = True,
    columns: Mapping[str, Any] | None = None,
    to: Recipients = None,
) -> int:
    """Record a breach; notify the other DPO at once (art. 9). Returns the breach id.
    ``columns``: a party's own further columns (DOV: the clients concerned)."""
    now = dt.datetime.now(dt.UTC)
    if aware(discovered_at) > now + dt.timedelta(minutes=5):
        raise BreachInputError(
            "--discovered lies in the future; give the moment it was discovered",
            "Het tijdstip van vaststelling ligt in de toekomst: geef het moment waarop het "
            "lek werd vastgesteld.",
        )
    if not 0 <= pupils_affected <= MAX_PUPILS:
        raise BreachInputError(
            f"--pupils must be 0 to {MAX_PUPILS:,}",
            f"Het aantal leerlingen is 0 tot {MAX_PUPILS:,}".replace(",", ".") + ".",
        )
    for name, text in (("description", description), ("categories", categories)):
        party.refuse(text, name)
    party.refuse(measures, "measures")
    with session_scope(engine) as session:
        row = party.breach(
            discovered_at=aware(discovered_at),
            recorded_at=now,
            description=description,
            categories=categories,
            pupils_affected=pupils_affected,
            measures=measures,
            status="open",
            **dict(columns or {}),
        )
        session.add(row)
        session.flush()
        breach_id = int(row.id)
        detail = {"datalek": breach_id}
        party.log(
            session, actor, "datalek_geregistreerd", "art. 9: gegevenslek geregistreerd", detail
        )
    if notify:
        notify_other_party(engine, party, mail, breach_id, actor=actor, to=to)
    return breach_id


def notify_other_party(
    engine: Engine,
    party: Party,
    mail: MailSettings,
    breach_id: int,
    *,
    actor: str,
    to: Recipients = None,
) -> None:
    """Art. 9: send the breach as it stands now to the other party's DPO, and record it."""
    now = dt.datetime.now(dt.UTC)
    with session_scope(engine) as session:
        row = _get(session, party, breach_id)
        updates = _updates(session, party, breach_id)
        subject = f"[{'Update ' if updates else ''}gegevenslek {row.id}] melding art. 9 protocol"
        bodies = {n: _body(party, row, updates, now, n) for n in _named(to)}
    _send_each(mail, subject, lambda named: bodies[tuple(named)], to, party.resend)
    with session_scope(engine) as session:
        row = _get(session, party, breach_id)
        if row.other_party_notified_at is None:
            row.other_party_notified_at = now
        for update in _updates(session, party, breach_id):
            update.notified = True
        detail = {"datalek": breach_id}
        party.log(
            session, actor, "datalek_gemeld", "art. 9: DPO van de andere partij ingelicht", detail
        )


@dataclass(frozen=True)
class Authority:
    """GDPR art. 33.1 / 33.5: the authority was told (with its reference and when), or the
    register says why that was not needed. One of the two closes the authority's clock."""

    reference: str | None = None
    notified_at: dt.datetime | None = None
    not_needed: str | None = None
    notified: bool = False  # told now, without a reference (yet)

    def check(self, party: Party) -> None:
        if self.reference is not None and self.not_needed is not None:
            raise BreachInputError(
                "give --authority-reference or --authority-not-needed, not both",
                "Kies één: de toezichthouder is geïnformeerd (met referentie), of niet gemeld "
                "(met de reden).",
            )
        if self.reference is not None and not self.reference.strip():
            raise BreachInputError(
                "--authority-reference is empty: give the reference the authority gave",
                "Vul de referentie in die de toezichthouder (GBA) gaf.",
            )
        if self.not_needed is not None and not self.not_needed.strip():
            raise BreachInputError(
                "--authority-not-needed is empty: GDPR art. 33.5 asks why it was not reported",
                "Vul de reden in waarom het lek niet gemeld werd (AVG art. 33.5).",
            )
        party.refuse(self.reference or "", "authority_reference")
        party.refuse(self.not_needed or "", "authority_not_needed")


def authority_from_form(reference: str, reason: str, told_at: str) -> Authority:
    """A breach form's fields (both parties' pages): the authority's reference and when it
    was told (``datetime-local``, Belgian time; empty: now), or the reason it was not; all
    empty: unchanged. Bad input raises BreachInputError with the Dutch text for the page."""
    at_text = told_at.strip()
    if at_text and not reference.strip():
        raise BreachInputError(
            "a time without a reference",
            "Vul bij het tijdstip van de melding ook de referentie van de toezichthouder in.",
        )
    try:
        at = belgian(dt.datetime.fromisoformat(at_text)) if at_text else None
    except ValueError:
        raise BreachInputError(
            "bad time", "Vul het tijdstip van de melding in als datum en uur."
        ) from None
    return Authority(
        reference=reference.strip() or None, notified_at=at, not_needed=reason.strip() or None
    )


def _apply_authority(row: Any, authority: Authority, now: dt.datetime) -> None:
    """GDPR art. 33.1, 33.5: a report to the authority replaces an earlier "not needed"
    (the risk was judged again); once reported, "not needed" is refused."""
    if authority.reference is not None:
        told = aware(authority.notified_at or now)
        if told > now + dt.timedelta(minutes=5) or told < aware(row.discovered_at):
            raise BreachInputError(
                "the authority's notification lies before discovery or in the future",
                "Het tijdstip van de melding aan de toezichthouder ligt vóór de vaststelling "
                "of in de toekomst.",
            )
        row.authority_notified_at = told
        row.authority_reference = authority.reference.strip()
        row.authority_not_needed = None
    elif authority.not_needed is not None:
        if row.authority_notified_at is not None:
            raise BreachInputError(
                f"breach {row.id} was reported to the authority already",
                f"Lek {row.id} is al gemeld aan de toezichthouder.",
            )
        row.authority_not_needed = authority.not_needed.strip()
    elif authority.notified and row.authority_notified_at is None:
        row.authority_notified_at, row.authority_not_needed = now, None


def update_breach(
    engine: Engine,
    party: Party,
    mail: MailSettings,
    breach_id: int,
    *,
    actor: str,
    text: str | None = None,
    status: str | None = None,
    authority: Authority | None = None,
    notify: bool = False,
    to: str | Sequence[str] | None = None,
) -> None:
    """GDPR art. 33.4: add information in phases; optionally send it to the other DPO."""
    if status is not None and status not in STATUSES:
        raise BreachInputError(
            f"--status {status!r}: use one of " + ", ".join(STATUSES),
            "Kies een status uit de lijst: " + ", ".join(STATUSES) + ".",
        )
    party.refuse(text or "", "update")
    authority = authority or Authority()
    authority.check(party)
    with session_scope(engine) as session:
        row = _get(session, party, breach_id)
        now = dt.datetime.now(dt.UTC)
        if text:
            session.add(party.update(breach_id=breach_id, at=now, text=text, notified=False))
        if status:
            row.status = status
        _apply_authority(row, authority, now)
        state = clocks(row, now).authority_state
        detail = {"datalek": breach_id, "status": row.status, "toezichthouder": state}
        party.log(session, actor, "datalek_bijgewerkt", "art. 9: gefaseerde informatie", detail)
    if notify:
        notify_other_party(engine, party, mail, breach_id, actor=actor, to=to)


def list_breaches(engine: Engine, party: Party, now: dt.datetime | None = None) -> list[BreachView]:
    """Every breach, newest first, with its updates and both clocks at ``now``."""
    now = now or dt.datetime.now(dt.UTC)
    with session_scope(engine) as session:
        views = []
        for row in session.scalars(select(party.breach).order_by(party.breach.id.desc())):
            updates = _updates(session, party, row.id)
            clock = breach_clock(row.discovered_at, now)
            views.append(BreachView(row, updates, clock, clocks(row, now)))
        return views
