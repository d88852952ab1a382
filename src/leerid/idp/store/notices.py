"""Art. 9 and art. 6: the notices a recipient sends the Department, and the processor lists.

Art. 9: "De Dienstenleverancier brengt DOV onmiddellijk op de hoogte van wijzigingen van
wetgeving met impact op voorliggend protocol [...] en in voorkomend geval van wijzigingen
omtrent de verwerkers." A notice (``wetgeving`` or ``verwerkers``, the latter with the
recipient's processor list) arrives at ``POST /op/v1/notices``; DOV's DPO lists and
acknowledges it (``leerid notices list|ack``), and the acknowledgement reaches the recipient as
a ``notice-acknowledged`` change. Art. 6: "Partijen bezorgen elkaar een overzicht van de
verwerkers": DOV asks a recipient for its list (``leerid notices request-processors``, a
``processor-list-requested`` change); the next ``verwerkers`` notice of that client answers it.
Art. 4: "Elke eventuele mededeling van de gevraagde persoonsgegevens door de
Dienstenleverancier moet voorafgaandelijk aan DOV worden gemeld": a ``doorgifte`` notice
carries the onward recipient (name, KBO number, purpose, legal basis).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import DateTime, Engine, Integer, String, Text, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from leerid.errors import LeeridError, NotFoundError
from leerid.idp.store.models import IdpClient
from leerid.idp.store.service_providers import kbo_parameter
from leerid.insz_text import looks_like_insz
from leerid.processors import parse_processors
from leerid.registry.changes import Change, ChangeKind, record_change
from leerid.store.base import Base
from leerid.store.engine import session_scope

__all__ = [
    "KINDS",
    "NoticeView",
    "ProcessorRequestView",
    "acknowledge_notice",
    "check_notice",
    "list_notices",
    "list_processor_requests",
    "request_processors",
    "store_notice",
]

KINDS = ("wetgeving", "verwerkers", "doorgifte", "logboek")
"""Art. 9: a change in law with impact on the protocol; a change of processors; art. 4: an
onward disclosure, announced beforehand; issue 12: the recipient's alert about the log."""
TEXT_LIMIT = 4000
ONWARD_FIELDS = {"name": 200, "kbo": 16, "purpose": 2000, "legal_basis": 2000}
"""Art. 4: the fields of a ``doorgifte`` notice's ``onward_recipient`` and their limits."""


class NoticeRow(Base):
    """Art. 9: one notice received from a recipient, and its acknowledgement by DOV."""

    __tablename__ = "idp_notice"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    text: Mapped[str] = mapped_column(Text)
    processors: Mapped[str | None] = mapped_column(Text)  # JSON list (verwerkers)
    onward_recipient: Mapped[str | None] = mapped_column(Text)  # JSON object (doorgifte)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))


class ProcessorRequestRow(Base):
    """Art. 6: DOV asked a recipient for its processor list; answered by a later notice."""

    __tablename__ = "idp_processor_request"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    operator: Mapped[str] = mapped_column(String(200))
    answered_by: Mapped[int | None] = mapped_column(Integer)  # the notice that answered it


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class NoticeView:
    id: int
    client_id: str
    kind: str
    text: str
    processors: list[dict[str, str]] | None
    received_at: dt.datetime
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None
    onward_recipient: dict[str, str] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "client_id": self.client_id,
            "kind": self.kind,
            "text": self.text,
            "processors": self.processors,
            "onward_recipient": self.onward_recipient,
            "received_at": self.received_at.isoformat(),
            "acknowledged_at": self.acknowledged_at.isoformat() if self.acknowledged_at else None,
            "acknowledged_by": self.acknowledged_by,
        }


@dataclass(frozen=True)
class ProcessorRequestView:
    id: int
    client_id: str
    requested_at: dt.datetime
    operator: str
    answered_by: int | None


def _notice(row: NoticeRow) -> NoticeView:
    received = _aware(row.received_at)
    assert received is not None
    return NoticeView(
        row.id,
        row.client_id,
        row.kind,
        row.text,
        json.loads(row.processors) if row.processors is not None else None,
        received,
        _aware(row.acknowledged_at),
        row.acknowledged_by,
        json.loads(row.onward_recipient) if row.onward_recipient is not None else None,
    )


def check_onward(onward: Any) -> str | None:
    """Art. 4: what is wrong with a ``doorgifte`` notice's ``onward_recipient``, or None."""
    if not isinstance(onward, dict):
        return "a doorgifte notice carries onward_recipient: a JSON object of " + ", ".join(
            ONWARD_FIELDS
        )
    unknown = sorted(set(onward) - set(ONWARD_FIELDS))
    if unknown:
        return f"onward_recipient.{unknown[0]} is not a field; use " + ", ".join(ONWARD_FIELDS)
    for name, limit in ONWARD_FIELDS.items():
        value = onward.get(name)
        if not isinstance(value, str) or not value.strip():
            return f"onward_recipient.{name} is required (a non-empty text)"
        if len(value) > limit:
            return f"onward_recipient.{name} is longer than {limit} characters"
        if looks_like_insz(value):  # art. 3: no INSZ in free text
            return f"onward_recipient.{name} contains what looks like a national register number"
    try:
        kbo_parameter(onward["kbo"], "onward_recipient.kbo")
    except LeeridError as exc:
        return exc.message
    return None


def _onward_json(onward: Any) -> str:
    checked = {k: str(onward[k]).strip() for k in ONWARD_FIELDS}
    checked["kbo"] = kbo_parameter(checked["kbo"])
    return json.dumps(checked, ensure_ascii=False)


def check_notice(kind: str, text: str, processors: Any, onward: Any = None) -> str | None:
    """What is wrong with a notice (for a 400 answer), or None."""
    if kind not in KINDS:
        return "kind must be one of " + ", ".join(KINDS)
    if not text.strip():
        return "text is required: say what changed"
    if len(text) > TEXT_LIMIT:
        return f"text is longer than {TEXT_LIMIT} characters"
    if looks_like_insz(text):  # art. 3: no INSZ in free text
        return "text contains what looks like a national register number; leave it out"
    if kind == "verwerkers":
        if not isinstance(processors, list):
            return "a verwerkers notice carries the processor list (processors: a JSON list)"
        try:
            parse_processors(processors, "processors")
        except LeeridError as exc:
            return exc.message
    elif processors is not None:
        return "only a verwerkers notice carries a processor list"
    if kind == "doorgifte":
        return check_onward(onward)
    if onward is not None:
        return "only a doorgifte notice carries an onward_recipient"
    return None


def store_notice(
    engine: Engine, client_id: str, kind: str, text: str, processors: Any, onward: Any = None
) -> tuple[NoticeView, int]:
    """Art. 9: store a checked notice; a ``verwerkers`` one answers the client's open requests
    for the list (art. 6). Returns the notice and how many requests it answered."""
    wrong = check_notice(kind, text, processors, onward)
    if wrong is not None:
        raise LeeridError(wrong)
    listed = None
    if kind == "verwerkers":
        listed = json.dumps([p.as_json() for p in parse_processors(processors, "processors")])
    with session_scope(engine) as session:
        row = NoticeRow(
            client_id=client_id,
            kind=kind,
            text=text.strip(),
            processors=listed,
            onward_recipient=_onward_json(onward) if kind == "doorgifte" else None,
            received_at=dt.datetime.now(dt.UTC),
        )
        session.add(row)
        session.flush()
        answered = 0
        if kind == "verwerkers":
            done = session.execute(
                update(ProcessorRequestRow)
                .where(
                    ProcessorRequestRow.client_id == client_id,
                    ProcessorRequestRow.answered_by.is_(None),
                )
                .values(answered_by=row.id)
            )
            answered = int(getattr(done, "rowcount", 0) or 0)
        return _notice(row), answered


def list_notices(engine: Engine, *, pending: bool = False) -> list[NoticeView]:
    """The notices, newest first; ``pending``: only those not yet acknowledged."""
    stmt = select(NoticeRow).order_by(NoticeRow.received_at.desc(), NoticeRow.id.desc())
    if pending:
        stmt = stmt.where(NoticeRow.acknowledged_at.is_(None))
    with Session(engine) as session:
        return [_notice(r) for r in session.scalars(stmt)]


def acknowledge_notice(engine: Engine, notice_id: str, operator: str) -> NoticeView:
    """Art. 9: DOV's DPO acknowledges a notice; the recipient hears of it (one change)."""
    if not operator.strip():
        raise LeeridError("--operator is required: the name of who at DOV acknowledges it")
    number = notice_id.strip().removeprefix("N-").removeprefix("n-")
    with session_scope(engine) as session:
        # a notice number is at most 9 digits (an integer column): longer is unknown
        known = number.isascii() and number.isdigit() and len(number) <= 9
        row = session.get(NoticeRow, int(number)) if known else None
        if row is None:
            raise NotFoundError(f"no notice {notice_id!r}; `leerid notices list` shows them")
        if row.acknowledged_at is not None:
            raise LeeridError(f"notice {row.id} was acknowledged already by {row.acknowledged_by}")
        now = dt.datetime.now(dt.UTC)
        row.acknowledged_at, row.acknowledged_by = now, operator.strip()
        record_change(
            session,
            Change(
                kind=ChangeKind.NOTICE_ACKNOWLEDGED,
                client_id=row.client_id,
                payload={"notice_id": str(row.id), "acknowledged_at": now.isoformat()},
                at=now,
            ),
        )
        session.flush()
        return _notice(row)


def request_processors(engine: Engine, client_id: str, operator: str) -> ProcessorRequestView:
    """Art. 6: DOV asks ``client_id`` for its current processor list (one change)."""
    if not operator.strip():
        raise LeeridError("--operator is required: the name of who at DOV asks")
    with session_scope(engine) as session:
        if session.get(IdpClient, client_id) is None:
            raise NotFoundError(f"no client {client_id!r}; `leerid clients list` shows them")
        now = dt.datetime.now(dt.UTC)
        row = ProcessorRequestRow(client_id=client_id, requested_at=now, operator=operator.strip())
        session.add(row)
        record_change(
            session,
            Change(
                kind=ChangeKind.PROCESSOR_LIST_REQUESTED,
                client_id=client_id,
                payload={"requested_at": now.isoformat()},
                at=now,
            ),
        )
        session.flush()
        return ProcessorRequestView(row.id, client_id, now, row.operator, None)


def list_processor_requests(engine: Engine) -> list[ProcessorRequestView]:
    """DOV's requests for processor lists, newest first, with the notice that answered each."""
    stmt = select(ProcessorRequestRow).order_by(ProcessorRequestRow.id.desc())
    with Session(engine) as session:
        return [
            ProcessorRequestView(
                r.id,
                r.client_id,
                _aware(r.requested_at) or r.requested_at,
                r.operator,
                r.answered_by,
            )
            for r in session.scalars(stmt)
        ]
