"""``leerid protocol terminate`` and ``end``: DOV records the end of a protocol (art. 8, 11)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from leerid.errors import LeeridError
from leerid.protocol.lifecycle import BRUSSELS
from leerid.protocol.model import Protocol
from leerid.protocol.status_changes import EndGround, StatusChangeKind, with_ending

__all__ = ["end", "ended_protocol", "parse_moment", "terminate"]

_GROUND_REASON = {
    EndGround.TERM: "Art. 11: de termijn van mededeling van artikel 5 is afgelopen",
    EndGround.LEGAL_BASIS: "Art. 11: er bestaat geen rechtsgrond meer voor de mededeling",
}


def parse_moment(text: str) -> dt.datetime:
    """``--at``: a moment; a day, or a moment without offset, counts on Brussels' clocks."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise LeeridError(
            f"--at {text!r} is not a date or moment; write e.g. 2024-04-01 (from midnight in "
            "Brussels) or 2024-04-01T09:00:00+02:00"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=BRUSSELS)


def _stored_protocol(session: Session, protocol_id: str) -> Protocol:
    from leerid.idp.store.protocols import current_protocol

    stored = current_protocol(session, protocol_id)
    if stored is None:
        raise LeeridError(
            f"protocol {protocol_id} is not stored; see the stored ones with: leerid protocol list"
        )
    return stored.protocol


def ended_protocol(session: Session, protocol: Protocol) -> Protocol:
    """``protocol`` with the end recorded for its id (if any) among its status changes."""
    from leerid.idp.store.endings import find_ending

    ending = find_ending(session, protocol.id)
    if ending is None:
        return protocol
    changes = with_ending(protocol.status_changes, ending.status_change())
    return protocol.model_copy(update={"status_changes": changes})


def _record(
    protocol_id: str, kind: StatusChangeKind, ground: str, at: dt.datetime | None, **what: str
) -> None:
    from leerid.idp.store.endings import RecordedEnding, record_ending
    from leerid.idp.store.event_sources import note_ending
    from leerid.schema import get_engine
    from leerid.store.engine import session_scope

    now = dt.datetime.now(dt.UTC)
    with session_scope(get_engine(create=False)) as session:
        protocol = _stored_protocol(session, protocol_id)
        ending = RecordedEnding(
            protocol_id=protocol_id,
            kind=kind,
            ground=ground,
            # Art. 8: the party the protocol names (the seed: DOV), never the recipient.
            by_party=protocol.sanction.unilateral_termination_by
            if kind is StatusChangeKind.TERMINATED
            else None,
            effective_at=now if at is None else at,
            reason=what["reason"],
            operator=what["operator"],
            recorded_at=now,
            notified_at=None,
        )
        recorded = record_ending(session, ending)
        note_ending(session, recorded)  # art. 8: the notice, with the end, all or nothing
    typer.echo(
        f"{recorded.kind.value}: {protocol_id} ({recorded.ground}) from "
        f"{recorded.effective_at.astimezone(BRUSSELS).isoformat(timespec='seconds')}, "
        f"recorded by {recorded.operator}; no data is disclosed under it from then on. "
        "The notice goes to every client of the protocol at its next poll "
        "(leerid protocol list shows whether each acknowledged it)."
    )


def terminate(
    protocol_id: Annotated[str, typer.Argument(metavar="ID", help="The stored protocol's id.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (art. 8: the breach).")],
    operator: Annotated[str, typer.Option("--operator", help="Who at DOV records it.")],
) -> None:
    """Art. 8: DOV ends the protocol by simple notice, at once (DOV's command only)."""
    if not reason.strip() or not operator.strip():
        raise LeeridError("--reason and --operator must not be empty: the record says who and why")
    _record(
        protocol_id,
        StatusChangeKind.TERMINATED,
        "sanction",
        None,
        reason=reason.strip(),
        operator=operator.strip(),
    )


def end(
    protocol_id: Annotated[str, typer.Argument(metavar="ID", help="The stored protocol's id.")],
    ground: Annotated[
        EndGround, typer.Option("--ground", help="Art. 11: the term ran out, or no legal basis.")
    ],
    operator: Annotated[str, typer.Option("--operator", help="Who at DOV records it.")],
    at: Annotated[
        str | None,
        typer.Option("--at", help="From when (a day counts from midnight, Brussels); default now."),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Default: art. 11's words.")
    ] = None,
) -> None:
    """Art. 11: record that the protocol ended by law (its term, or its legal basis, is gone)."""
    if not operator.strip():
        raise LeeridError("--operator must not be empty: the record says who recorded the end")
    text = (reason or "").strip() or _GROUND_REASON[ground]
    moment = None if at is None else parse_moment(at)
    _record(
        protocol_id,
        StatusChangeKind.ENDED,
        ground.value,
        moment,
        reason=text,
        operator=operator.strip(),
    )
