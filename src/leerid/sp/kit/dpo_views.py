"""The privacy log as the DPO searches it: filters, pages of 200 and the CSV export.

Art. 6 ("een logsysteem en logbeheer van de privacylogs"): the DPO finds the entries on one
pupil, one member of staff, one action or a stretch of days. Art. 4: the DPO is no recipient
of the pupil data, so a pupil is filtered on and shown as its pseudonym
(``privacy_log.pseudonym``); a pupil key typed in is turned into its pseudonym first. Days
are Belgian days (Europe/Brussels). Pages are keyset pages on the entry number, so the
thousandth page costs what the first one does.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Engine, select
from sqlalchemy.orm import Session

from leerid.protocol.lifecycle import BRUSSELS
from leerid.sp.kit import privacy_log
from leerid.sp.kit.dpo_log import PREFIX, UUID_TEXT, DpoEntry, for_dpo, keys_of, pupil_key
from leerid.sp.kit.keys import ProviderSecrets
from leerid.sp.kit.models import PrivacyLogEntry
from leerid.store.engine import session_scope

PAGE = 200
EXPORT_BATCH = 1000
FIRST_DAY, LAST_DAY = dt.date(2000, 1, 1), dt.date(2999, 12, 31)
"""The days a filter accepts (a moment in Belgian time must exist for the day)."""
_PSEUDONYM = re.compile(f"[0-9a-f]{{{privacy_log.PSEUDONYM_HEX}}}")
_ACTOR = re.compile(r"[A-Za-z0-9._@-]{1,80}")
_ACTION = re.compile(r"[a-z_]{1,40}")
_CURSOR = re.compile(r"[0-9]{1,12}")


class FilterError(ValueError):
    """A filter field the DPO must correct: ``field`` names it, the text says what to do."""

    def __init__(self, field_name: str, text: str) -> None:
        super().__init__(f"{field_name}: {text}")
        self.field = field_name
        self.dutch = f"{field_name}: {text}"


@dataclass(frozen=True)
class LogFilter:
    """The DPO's filters; every one optional. ``pupil`` is a pseudonym, never a key."""

    pupil: str | None = None
    actor: str | None = None
    action: str | None = None
    day_from: dt.date | None = None
    day_to: dt.date | None = None
    older_than: int | None = None  # "volgende": entries before this number
    newer_than: int | None = None  # "vorige": entries after this number

    def query(self, *, paging: bool = True) -> dict[str, str]:
        """The filters as URL parameters (for the links to the next page and the export)."""
        pairs = {
            "leerling": self.pupil,
            "medewerker": self.actor,
            "actie": self.action,
            "van": self.day_from and self.day_from.isoformat(),
            "tot": self.day_to and self.day_to.isoformat(),
        }
        if paging:
            pairs["na"] = None if self.older_than is None else str(self.older_than)
            pairs["voor"] = None if self.newer_than is None else str(self.newer_than)
        return {k: v for k, v in pairs.items() if v}

    def logged(self) -> dict[str, str]:
        """The filters as the privacy log records them (the pseudonym, never a key)."""
        return self.query(paging=False)


def as_pseudonym(secrets: ProviderSecrets, given: str) -> str:
    """Art. 4: what the DPO typed as the pupil (a pseudonym as shown, with or without
    ``psn-``, or a pupil key) as its pseudonym."""
    text = given.strip().lower().removeprefix(PREFIX)
    if _PSEUDONYM.fullmatch(text):
        return text
    if UUID_TEXT.fullmatch(text):
        return privacy_log.pseudonym(secrets, pupil_key(text))
    raise FilterError(
        "Leerling",
        "geef het pseudoniem zoals het in het log staat (16 tekens, 0-9 en a-f) of de "
        "leerlingensleutel uit een inzageverzoek (36 tekens).",
    )


def parse_day(params: Mapping[str, str], name: str, label: str) -> dt.date | None:
    """A Belgian day from a form field (empty: no limit); ``FilterError`` (a ValueError)
    naming the field otherwise. Also the staff's search on the last login."""
    text = params.get(name, "").strip()
    if not text:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise FilterError(label, "schrijf een datum als JJJJ-MM-DD.") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise FilterError(label, f"kies een dag tussen {FIRST_DAY} en {LAST_DAY}.")
    return day


def _cursor(params: Mapping[str, str], name: str) -> int | None:
    text = params.get(name, "").strip()
    if not text:
        return None
    if not _CURSOR.fullmatch(text):
        raise FilterError("Pagina", "volg de links 'volgende' en 'vorige' onder de lijst.")
    return int(text)


def parse_filter(params: Mapping[str, str], secrets: ProviderSecrets) -> LogFilter:
    """The query string as filters; ``FilterError`` naming the first field that is wrong."""
    pupil = params.get("leerling", "").strip()
    actor = params.get("medewerker", "").strip()
    action = params.get("actie", "").strip()
    if actor and not _ACTOR.fullmatch(actor):
        raise FilterError("Medewerker", "geef een gebruikersnaam zoals in het log, zonder spaties.")
    if action and not _ACTION.fullmatch(action):
        raise FilterError("Actie", "kies een actie uit de lijst.")
    day_from = parse_day(params, "van", "Van")
    day_to = parse_day(params, "tot", "Tot en met")
    if day_from and day_to and day_from > day_to:
        raise FilterError("Tot en met", "die dag ligt vóór de dag bij 'Van'.")
    return LogFilter(
        pupil=as_pseudonym(secrets, pupil) if pupil else None,
        actor=actor or None,
        action=action or None,
        day_from=day_from,
        day_to=day_to,
        older_than=_cursor(params, "na"),
        newer_than=_cursor(params, "voor"),
    )


def start_of(day: dt.date) -> dt.datetime:
    """The first moment of a Belgian day, in UTC."""
    return dt.datetime.combine(day, dt.time(), BRUSSELS).astimezone(dt.UTC)


def conditions(
    session: Session, secrets: ProviderSecrets, wanted: LogFilter
) -> list[ColumnElement[bool]]:
    """The WHERE clauses of the filters (without the paging cursor)."""
    where: list[ColumnElement[bool]] = []
    if wanted.pupil:
        where.append(PrivacyLogEntry.pupil_key.in_(keys_of(session, secrets, wanted.pupil)))
    if wanted.actor:
        where.append(PrivacyLogEntry.actor == wanted.actor)
    if wanted.action:
        where.append(PrivacyLogEntry.action == wanted.action)
    if wanted.day_from:
        where.append(PrivacyLogEntry.at >= start_of(wanted.day_from))
    if wanted.day_to:
        where.append(PrivacyLogEntry.at < start_of(wanted.day_to + dt.timedelta(days=1)))
    return where


@dataclass(frozen=True)
class LogPage:
    """One page of entries, newest first, with the cursors of its neighbours."""

    entries: list[DpoEntry]
    older: int | None = None  # "volgende": the number to pass as ``na``
    newer: int | None = None  # "vorige": the number to pass as ``voor``
    actions: list[str] = field(default_factory=list)


def page_of(engine: Engine, secrets: ProviderSecrets, wanted: LogFilter) -> LogPage:
    """Art. 6: one page of at most 200 entries that match, newest first."""
    with session_scope(engine) as session:
        where = conditions(session, secrets, wanted)
        stmt = select(PrivacyLogEntry).where(*where)
        if wanted.newer_than is not None:
            rows = list(
                session.scalars(
                    stmt.where(PrivacyLogEntry.seq > wanted.newer_than)
                    .order_by(PrivacyLogEntry.seq)
                    .limit(PAGE + 1)
                )
            )
            more_newer, rows = len(rows) > PAGE, rows[:PAGE][::-1]
            more_older = bool(rows) or wanted.newer_than > 0
        else:
            if wanted.older_than is not None:
                stmt = stmt.where(PrivacyLogEntry.seq < wanted.older_than)
            rows = list(session.scalars(stmt.order_by(PrivacyLogEntry.seq.desc()).limit(PAGE + 1)))
            more_older, rows = len(rows) > PAGE, rows[:PAGE]
            more_newer = wanted.older_than is not None
        if rows and more_older and wanted.newer_than is not None:
            more_older = _exists(session, where, PrivacyLogEntry.seq < rows[-1].seq)
        if rows and more_newer and wanted.older_than is not None:
            more_newer = _exists(session, where, PrivacyLogEntry.seq > rows[0].seq)
        actions = sorted(session.scalars(select(PrivacyLogEntry.action).distinct()))
        return LogPage(
            entries=[for_dpo(e, secrets) for e in rows],
            older=rows[-1].seq if rows and more_older else None,
            newer=rows[0].seq if rows and more_newer else None,
            actions=actions,
        )


def _exists(session: Session, where: list[ColumnElement[bool]], edge: ColumnElement[bool]) -> bool:
    found = session.scalar(select(PrivacyLogEntry.seq).where(edge, *where).limit(1))
    return found is not None


CSV_HEADER = (
    "nr",
    "tijd (Belgische tijd)",
    "medewerker",
    "actie",
    "leerling (pseudoniem)",
    "doel",
    "detail",
)


def export_rows(
    engine: Engine, secrets: ProviderSecrets, wanted: LogFilter
) -> Iterator[tuple[Any, ...]]:
    """Art. 6: every matching entry, oldest first, as the DPO sees it (pseudonyms), read in
    batches of 1000 so the export streams whatever the log's size."""
    with session_scope(engine) as session:
        where = conditions(session, secrets, wanted)  # the pseudonym's keys, found once
    after = 0
    while True:
        with session_scope(engine) as session:
            batch = list(
                session.scalars(
                    select(PrivacyLogEntry)
                    .where(PrivacyLogEntry.seq > after, *where)
                    .order_by(PrivacyLogEntry.seq)
                    .limit(EXPORT_BATCH)
                )
            )
            shown = [for_dpo(e, secrets) for e in batch]
        for entry in shown:
            detail = entry.detail
            yield (
                entry.seq,
                aware(entry.at).astimezone(BRUSSELS).isoformat(timespec="seconds"),
                entry.actor,
                entry.action,
                entry.pupil or "",
                entry.purpose,
                detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False),
            )
        if len(batch) < EXPORT_BATCH:
            return
        after = batch[-1].seq


def aware(moment: dt.datetime) -> dt.datetime:
    """A stored moment with its zone (SQLite hands back naive UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
