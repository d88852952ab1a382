"""Art. 7 from the Department to us: reports of wrong data we received, and our answer.

"Zodra een Partij [...] foutieve [...] gegevens vaststelt, al dan niet op basis van een
mededeling van betrokkene(n), meldt zij dat onmiddellijk schriftelijk aan de andere betrokken
Partijen." DOV's report (its own, or a pupil's passed on by DOV without the pupil's words)
arrives as a ``urn:leerid:event:quality-report`` SET; the events follower calls
``apply_dov_report`` in the transaction that acknowledges it. Staff list them
(``leerid sp reports list``) and answer (``leerid sp reports answer CODE --status …``), which
is posted to ``POST /op/v1/quality-reports/answers`` at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from leerid.errors import LeeridError, NotFoundError
from leerid.sp.kit import privacy_log
from leerid.sp.kit.free_text import refuse_insz
from leerid.sp.kit.models import DovReport
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.quality_reports import endpoint
from leerid.sp.kit.relying_party import RelyingParty
from leerid.store.engine import session_scope

__all__ = ["ANSWERS", "EVENT_TYPE", "answer_report", "apply_dov_report", "list_dov_reports"]

EVENT_TYPE = "urn:leerid:event:quality-report"
ANSWERS = ("in-behandeling", "opgelost", "afgewezen")
"""Art. 7: our answer to a report: being handled, resolved, or rejected (with the reason)."""
_FIELDS = ("code", "pupil_key", "attribute", "problem", "source", "reported_at")


def _moment(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def apply_dov_report(session: Session, claims: Mapping[str, Any], event: Mapping[str, Any]) -> None:
    """Art. 7: store a report DOV sent (in the caller's transaction, with its privacy-log
    entry). A report seen before (the same code) changes nothing; a malformed one raises
    ``ValueError`` (the follower rejects the SET, it is never applied)."""
    missing = [k for k in _FIELDS if not isinstance(event.get(k), str) or not event[k]]
    if missing:
        raise ValueError("quality-report event without " + ", ".join(missing))
    code = str(event["code"])
    if session.scalar(select(DovReport.id).where(DovReport.code == code)) is not None:
        return
    comment = str(event.get("comment") or "")
    refuse_insz(comment, "comment")  # art. 3: never written down here
    report = DovReport(
        code=code,
        pupil_key=str(event["pupil_key"]),
        attribute=str(event["attribute"]),
        problem=str(event["problem"]),
        comment=comment,
        source=str(event["source"]),
        reported_at=_moment(str(event["reported_at"])),
        received_at=dt.datetime.now(dt.UTC),
    )
    session.add(report)
    session.flush()
    privacy_log.append(
        session,
        actor="dov",
        action="melding_gegevenskwaliteit_ontvangen",
        purpose="art. 7: DOV meldt foutieve gegevens",
        pupil_key=report.pupil_key,
        detail={
            "melding": code,
            "attribuut": report.attribute,
            "probleem": report.problem,
            "bron": report.source,
            "set": str(claims.get("jti", "")),
        },
    )


def list_dov_reports(provider: ServiceProvider) -> list[DovReport]:
    """The reports DOV sent us, newest first, with our answer."""
    with session_scope(provider.engine) as session:
        return list(session.scalars(select(DovReport).order_by(DovReport.id.desc())))


def _record_answer(provider: ServiceProvider, code: str, status: str, text: str, actor: str) -> str:
    with session_scope(provider.engine) as session:
        report = session.scalars(select(DovReport).where(DovReport.code == code)).first()
        if report is None:
            raise NotFoundError(
                f"no report {code!r} from DOV; `leerid sp reports list` shows the codes"
            )
        report.answer_status, report.answer_text = status, text
        report.answered_at, report.answered_by = dt.datetime.now(dt.UTC), actor
        privacy_log.append(
            session,
            actor=actor,
            action="melding_gegevenskwaliteit_beantwoord",
            purpose="art. 7: antwoord aan DOV",
            pupil_key=report.pupil_key,
            detail={"melding": code, "status": status},
        )
        return report.code


async def answer_report(
    provider: ServiceProvider, rp: RelyingParty, code: str, status: str, text: str, actor: str
) -> None:
    """Art. 7: record our answer to DOV's report ``code`` and post it to DOV at once."""
    if status not in ANSWERS:
        raise LeeridError(f"--status {status!r}: use one of " + ", ".join(ANSWERS))
    text = text.strip()
    if not text:
        raise LeeridError("--text is required: say what was done, or why not")
    refuse_insz(text, "text")
    code = _record_answer(provider, code.strip().upper(), status, text, actor)
    url = await endpoint(rp, "quality-reports") + "/answers"
    try:
        response = await rp.post_authenticated(url, {"code": code, "status": status, "text": text})
    except httpx.HTTPError as exc:
        raise LeeridError(
            f"the answer was kept but not sent ({exc}); run the command again later"
        ) from None
    if response.status_code != 200:
        try:
            reason = str(response.json().get("error_description", ""))
        except ValueError:
            reason = response.text[:200]
        raise LeeridError(
            f"DOV refused the answer ({response.status_code}: {reason}); it was kept locally"
        )
