"""Art. 7 in the other directions: DOV tells a recipient, a pupil tells DOV, the recipient answers.

"Zodra een Partij één of meerdere foutieve, onnauwkeurige, onvolledige, ontbrekende,
verouderde of overtollige gegevens in de persoonsgegevens vaststelt, al dan niet op basis van
een mededeling van betrokkene(n), meldt zij dat onmiddellijk schriftelijk aan de andere
betrokken Partijen." Every report is one row of ``idp_quality_report`` (its ``source``):

- ``dov``: the Department reports to one client (``leerid reports add --to CLIENT``), only to
  a client the disclosure log shows received that data of that pupil (art. 4); the report
  reaches it as a ``quality-report`` change, written in the report's own transaction;
- ``pupil``: the pupil reports on ``/op/v1/mijn-gegevens``; every client that received that
  data item of that pupil gets a ``quality-report`` change too, without the pupil's own text
  (it may hold names: it stays at DOV; the change carries identifiers only);
- the addressed client answers (``POST /op/v1/quality-reports/answers``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from leerid.errors import LeeridError, NotFoundError
from leerid.idp.store.disclosures import pupil_keys, received_claims
from leerid.idp.store.models import IdpClient
from leerid.idp.store.quality_reports import (
    ANSWERS,
    InTransaction,
    QualityReportRow,
    ReportView,
    check_report,
    find_report,
    store_report,
    view_of,
)
from leerid.insz_text import looks_like_insz
from leerid.registry.changes import Change, ChangeKind, record_change
from leerid.store.engine import session_scope

__all__ = [
    "FORWARDED_COMMENT",
    "PUPIL_REPORTS_PER_HOUR",
    "AnswerRefusedError",
    "TooManyReportsError",
    "add_dov_report",
    "add_pupil_report",
    "record_answer",
]

PUPIL_REPORTS_PER_HOUR = 5
"""A pupil's reports per hour (all their accounts together): enough for every data item."""
FORWARDED_COMMENT = (
    "Gemeld door de leerling zelf via LeerID; de uitleg van de leerling blijft bij DOV."
)
"""What a recipient reads instead of the pupil's own words (identifiers only travel)."""
ANSWER_LIMIT = 2000


class TooManyReportsError(LeeridError):
    """The pupil reached ``PUPIL_REPORTS_PER_HOUR``: try again later."""


class AnswerRefusedError(Exception):
    """An answer the endpoint refuses: HTTP status and the reason."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _change(row: QualityReportRow, client_id: str, leer_ids: set[str]) -> Change:
    """Art. 7: the ``quality-report`` change of ``row`` for ``client_id`` (no names, no INSZ)."""
    key = row.pupil_key
    comment = FORWARDED_COMMENT if row.source == "pupil" else row.comment
    return Change(
        kind=ChangeKind.QUALITY_REPORT,
        client_id=client_id,
        leer_id_uuid=key if key in leer_ids else None,  # the SET's sub_id
        account_uuids=() if key in leer_ids else (key,),
        payload={
            "code": row.code,
            "pupil_key": key,
            "attribute": row.attribute,
            "problem": row.problem,
            "comment": comment,
            "source": row.source,
            "reported_at": row.received_at.astimezone(dt.UTC).isoformat(),
        },
    )


def add_dov_report(
    engine: Engine,
    *,
    client_id: str,
    pupil_key: str,
    attribute: str,
    problem: str,
    comment: str,
    operator: str,
    then: InTransaction | None = None,
) -> ReportView:
    """Art. 7: the Department reports wrong data to ``client_id``, which got it (art. 4);
    ``then`` runs in the report's own transaction (the console's staff-log entry, art. 6)."""
    wrong = check_report(pupil_key, attribute, problem, comment)
    if wrong is not None:
        raise LeeridError(wrong.replace("pupil_key", "--pupil", 1))
    if not operator.strip():
        raise LeeridError("--operator is required: the name of who at DOV sends the report")
    with Session(engine) as session:
        if session.get(IdpClient, client_id) is None:
            raise NotFoundError(f"no client {client_id!r}; `leerid clients list` shows them")
        received = received_claims(session, pupil_key).get(client_id)
        _pupil_id, leer_ids, _accounts = pupil_keys(session, pupil_key)
    if received is None:  # art. 4: nothing goes to a recipient that did not get the data
        raise LeeridError(
            f"client {client_id} never received data of pupil {pupil_key} (the disclosure log "
            "has no release to it); report only to a client that got the data "
            f"(`leerid disclosures list --leer-id-uuid {pupil_key}` shows who did)"
        )
    if attribute not in received:
        raise LeeridError(
            f"client {client_id} never received {attribute} of pupil {pupil_key}; it received "
            + ", ".join(sorted(received))
        )

    def tell(session: Session, row: QualityReportRow) -> None:
        record_change(session, _change(row, client_id, leer_ids))
        if then is not None:
            then(session, row)

    return store_report(
        engine,
        client_id,
        pupil_key,
        attribute,
        problem,
        comment,
        source="dov",
        operator=operator.strip(),
        then=tell,
    )


def add_pupil_report(
    engine: Engine, *, account_uuid: str, pupil_key: str, attribute: str, problem: str, text: str
) -> ReportView:
    """Art. 7: the pupil reports an error in their own data; every client that received that
    data item of this pupil hears of it (without the pupil's text)."""
    wrong = check_report(pupil_key, attribute, problem, text)
    if wrong is not None:
        raise LeeridError(wrong)
    with Session(engine) as session:
        _pupil_id, leer_ids, accounts = pupil_keys(session, account_uuid)
        since = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
        recent = session.scalar(
            select(func.count()).where(
                QualityReportRow.source == "pupil",
                QualityReportRow.pupil_key.in_(sorted(leer_ids | accounts)),
                QualityReportRow.received_at >= since,
            )
        )
        if (recent or 0) >= PUPIL_REPORTS_PER_HOUR:
            raise TooManyReportsError("too many reports in the last hour")
        received = received_claims(session, account_uuid)
    clients = sorted(c for c, claims in received.items() if attribute in claims)

    def tell(session: Session, row: QualityReportRow) -> None:
        row.forwarded_to = " ".join(clients)
        for client_id in clients:
            record_change(session, _change(row, client_id, leer_ids))

    return store_report(
        engine, None, pupil_key, attribute, problem, text, source="pupil", then=tell
    )


def _answerable(row: QualityReportRow | None, client_id: str) -> bool:
    """Only the client a report was addressed to answers it."""
    if row is None:
        return False
    if row.source == "dov":
        return row.client_id == client_id
    return row.source == "pupil" and client_id in (row.forwarded_to or "").split()


def record_answer(engine: Engine, client_id: str, code: str, status: str, text: str) -> ReportView:
    """Art. 7: the recipient's answer to a report DOV sent it (AnswerRefused says why not)."""
    if status not in ANSWERS:
        raise AnswerRefusedError(400, "status must be one of " + ", ".join(ANSWERS))
    text = text.strip()
    if not text:
        raise AnswerRefusedError(400, "text is required: say what was done or why not")
    if len(text) > ANSWER_LIMIT:
        raise AnswerRefusedError(400, f"text is longer than {ANSWER_LIMIT} characters")
    if looks_like_insz(text):  # art. 3: no INSZ in free text
        raise AnswerRefusedError(400, "text contains what looks like a national register number")
    with session_scope(engine) as session:
        row = find_report(session, code)
        if not _answerable(row, client_id):  # another client's report reads as unknown
            raise AnswerRefusedError(404, f"no report {code!r} addressed to this client")
        assert row is not None
        row.answer_status = status
        row.answer_text = text
        row.answered_at = dt.datetime.now(dt.UTC)
        row.answered_by = client_id
        session.flush()
        return view_of(row)
